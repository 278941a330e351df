-- athena/calls.sql: the call table (docs/SCALE.md) in Amazon Athena (Trino SQL), over the
-- standard CloudTrail table that Athena's console creates (`cloudtrail_logs` below; rename to
-- yours). The same logic as queries/spark/calls.sql, in Trino's dialect: 1-based arrays,
-- element_at, regexp_like, json_extract_scalar. That Spark version is tested against iamtrim in
-- CI; this one has not been run here (no Athena in CI): check it on a day of your trail with
-- `iamtrim calls` on the same day's files before relying on it.
--
-- The standard table has no useridentity.identityprovider: a service account's own token calls
-- take their cluster from useridentity.principalid (<provider ARN>:<audience>:<subject>).
-- Restrict the scan with your table's partition columns in `numbered` (e.g. the projected
-- `timestamp` column: WHERE "timestamp" >= '2026/08/01').
--
-- Write it where iamtrim (or anything else) can read it:
--   CREATE TABLE iamtrim_calls WITH (format = 'PARQUET',
--     external_location = 's3://my-athena-results/iamtrim_calls/') AS <this query>
WITH numbered AS (
    SELECT c.*,
           row_number() OVER (PARTITION BY recipientaccountid, eventid ORDER BY eventtime) AS copy
    FROM cloudtrail_logs c
),
events AS (
    SELECT * FROM numbered WHERE eventid IS NULL OR copy = 1
),
vended AS (
    SELECT e.*,
           json_extract_scalar(responseelements, '$.credentials.accessKeyId') AS new_key,
           json_extract_scalar(requestparameters, '$.roleArn') AS vended_role,
           json_extract_scalar(requestparameters, '$.roleSessionName') AS vended_session,
           COALESCE(json_extract_scalar(responseelements, '$.subjectFromWebIdentityToken'),
                    useridentity.username) AS subject,
           json_extract_scalar(responseelements, '$.provider') AS provider,
           TRY_CAST(json_extract(requestparameters, '$.tags')
                    AS ARRAY(ROW(key VARCHAR, value VARCHAR))) AS tags
    FROM events e
    WHERE eventsource = 'sts.amazonaws.com'
      AND eventname IN ('AssumeRole', 'AssumeRoleWithWebIdentity')
      AND errorcode IS NULL
),
tagged AS (
    SELECT v.*,
           element_at(filter(tags, t -> t.key = 'eks-cluster-name'), 1).value AS tag_cluster,
           element_at(filter(tags, t -> t.key = 'eks-cluster-arn'), 1).value AS tag_cluster_arn,
           element_at(filter(tags, t -> t.key = 'kubernetes-namespace'), 1).value AS tag_namespace,
           element_at(filter(tags, t -> t.key = 'kubernetes-service-account'), 1).value AS tag_sa
    FROM vended v
),
direct AS (
    SELECT new_key, vended_role, vended_session, 'irsa' AS mechanism,
           regexp_extract(provider, '([^/]+)/?$', 1) AS eks_cluster,
           element_at(split(subject, ':'), 3) AS namespace,
           element_at(split(subject, ':'), 4) AS service_account
    FROM tagged
    WHERE eventname = 'AssumeRoleWithWebIdentity'
      AND regexp_like(subject, '^system:serviceaccount:[^:]+:[^:]+$')
      AND provider IS NOT NULL AND new_key IS NOT NULL
    UNION ALL
    SELECT new_key, vended_role, vended_session, 'pod-identity',
           COALESCE(tag_cluster, regexp_extract(tag_cluster_arn, ':cluster/(.*)$', 1)),
           tag_namespace, tag_sa
    FROM tagged
    WHERE eventname = 'AssumeRole'
      AND useridentity.invokedby = 'pods.eks.amazonaws.com'
      AND tag_namespace IS NOT NULL AND tag_sa IS NOT NULL
      AND (tag_cluster IS NOT NULL OR tag_cluster_arn IS NOT NULL)
      AND new_key IS NOT NULL
),
chained AS (
    SELECT v.new_key, d.eks_cluster, d.namespace, d.service_account
    FROM vended v
    JOIN direct d ON v.useridentity.accesskeyid = d.new_key
    WHERE v.eventname = 'AssumeRole'
      AND COALESCE(v.useridentity.invokedby, '') <> 'pods.eks.amazonaws.com'
      AND v.useridentity.type = 'AssumedRole'
      AND v.new_key IS NOT NULL
),
bindings AS (
    SELECT new_key AS access_key, eks_cluster, namespace, service_account FROM direct
    UNION ALL
    SELECT new_key, eks_cluster, namespace, service_account FROM chained
),
by_name AS (
    SELECT regexp_extract(vended_role, ':role/(?:.*/)?([^/]+)$', 1) AS role_name,
           vended_session, eks_cluster, namespace, service_account
    FROM direct
    WHERE mechanism = 'pod-identity' AND vended_session LIKE 'eks-_%'
),
callers AS (
    SELECT e.*,
           COALESCE(useridentity.sessioncontext.sessionissuer.arn,
                    CASE WHEN regexp_like(useridentity.arn, '^arn:[^:]+:sts::[0-9]*:assumed-role/[^/]+/')
                         THEN regexp_replace(useridentity.arn,
                                             '^arn:([^:]+):sts::([0-9]*):assumed-role/([^/]+)/.*$',
                                             'arn:$1:iam::$2:role/$3') END) AS role_arn,
           regexp_extract(useridentity.arn, ':assumed-role/[^/]+/(.*)$', 1) AS session_name,
           regexp_extract(useridentity.arn, ':assumed-role/([^/]+)/', 1) AS session_role,
           regexp_extract(useridentity.principalid, '^(.*):[^:]+:system:serviceaccount:', 1) AS token_provider
    FROM events e
    WHERE (eventtype IS NULL OR eventtype NOT IN ('AwsServiceEvent', 'AwsConsoleSignIn'))
      AND useridentity.type IS NOT NULL
      AND useridentity.type <> 'AWSService'
      AND NOT (eventsource = 'sts.amazonaws.com' AND eventname = 'AssumeRoleWithWebIdentity'
               AND useridentity.type = 'WebIdentityUser' AND errorcode IS NULL)
),
attributed AS (
    SELECT c.eventsource, c.eventname, c.errorcode, c.eventtime,
           CASE
               WHEN c.useridentity.type = 'AssumedRole' THEN
                   CASE WHEN COALESCE(b.service_account, n.service_account) IS NOT NULL
                        THEN concat('eks/', COALESCE(b.eks_cluster, n.eks_cluster), '/',
                                    COALESCE(b.namespace, n.namespace), '/',
                                    COALESCE(b.service_account, n.service_account))
                        ELSE c.role_arn END
               WHEN c.useridentity.type = 'WebIdentityUser' THEN
                   concat('eks/', regexp_extract(c.token_provider, '([^/]+)/?$', 1), '/',
                          element_at(split(c.useridentity.username, ':'), 3), '/',
                          element_at(split(c.useridentity.username, ':'), 4))
               ELSE c.useridentity.arn
           END AS workload,
           CASE
               WHEN c.useridentity.type = 'AssumedRole'
                    AND COALESCE(b.service_account, n.service_account) IS NULL THEN 'role'
               WHEN c.useridentity.type IN ('AssumedRole', 'WebIdentityUser') THEN 'service-account'
               ELSE 'user'
           END AS kind,
           CASE
               WHEN c.useridentity.type = 'AssumedRole' THEN COALESCE(b.eks_cluster, n.eks_cluster)
               WHEN c.useridentity.type = 'WebIdentityUser'
                   THEN regexp_extract(c.token_provider, '([^/]+)/?$', 1)
           END AS eks_cluster,
           CASE
               WHEN c.useridentity.type = 'AssumedRole' THEN COALESCE(b.namespace, n.namespace)
               WHEN c.useridentity.type = 'WebIdentityUser'
                   THEN element_at(split(c.useridentity.username, ':'), 3)
           END AS namespace,
           CASE
               WHEN c.useridentity.type = 'AssumedRole'
                   THEN COALESCE(b.service_account, n.service_account)
               WHEN c.useridentity.type = 'WebIdentityUser'
                   THEN element_at(split(c.useridentity.username, ':'), 4)
           END AS service_account,
           CASE WHEN c.useridentity.type = 'AssumedRole' THEN c.role_arn END AS role
    FROM callers c
    LEFT JOIN bindings b
           ON c.useridentity.accesskeyid = b.access_key
          AND c.useridentity.type = 'AssumedRole'
    LEFT JOIN by_name n
           ON (c.useridentity.accesskeyid IS NULL OR c.useridentity.accesskeyid = '')
          AND c.session_role = n.role_name
          AND c.session_name = n.vended_session
    WHERE (c.useridentity.type = 'AssumedRole' AND c.role_arn IS NOT NULL)
       OR (c.useridentity.type = 'WebIdentityUser'
           AND regexp_like(c.useridentity.username, '^system:serviceaccount:[^:]+:[^:]+$')
           AND COALESCE(c.token_provider, '') <> '')
       OR (c.useridentity.type NOT IN ('AssumedRole', 'WebIdentityUser')
           AND COALESCE(c.useridentity.arn, '') <> '')
)
SELECT workload, kind, eks_cluster, namespace, service_account, role,
       eventsource AS event_source, eventname AS event_name, errorcode AS error_code,
       COUNT(*) AS calls, MIN(eventtime) AS first_seen, MAX(eventtime) AS last_seen
FROM attributed
GROUP BY workload, kind, eks_cluster, namespace, service_account, role, eventsource, eventname, errorcode
ORDER BY workload, kind, eks_cluster, namespace, service_account, role, event_source, event_name, error_code

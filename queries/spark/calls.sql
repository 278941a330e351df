-- spark/calls.sql: the call table (docs/SCALE.md) in Spark SQL, from a view `cloudtrail` with
-- the columns of the standard Athena CloudTrail table (scripts/spark-calls.py builds it from the
-- log files). One row per (workload, role, eventSource, eventName, errorCode): calls, first and
-- last eventTime. `iamtrim calls` writes the same table from the same logs; tests/batch.rs checks
-- they are equal on the sample trail (pyspark in local mode).
--
-- Attribution, as iamtrim does it without account context:
--   IRSA         AssumeRoleWithWebIdentity (subject system:serviceaccount:<ns>:<sa>) → its
--                credentials' access key; the cluster is the OIDC issuer id.
--   Pod Identity AssumeRole invoked by pods.eks.amazonaws.com with kubernetes-* session tags →
--                its access key, and its (role, session name) for calls made without a key.
--   Chains       AssumeRole called with a bound key → the new key, same service account (one
--                level here; iamtrim follows up to 16).
--   Otherwise    the role (assumed-role sessions), the service account's own token
--                (WebIdentityUser), or the user ARN.
-- Not here (iamtrim only): trust-policy and association fallbacks, which need IAM and EKS facts.
WITH numbered AS (
    SELECT c.*,
           ROW_NUMBER() OVER (PARTITION BY recipientaccountid, eventid ORDER BY eventtime) AS copy
    FROM cloudtrail c
),
events AS (
    -- Each eventID once per account (CloudTrail can deliver an event twice).
    SELECT * FROM numbered WHERE eventid IS NULL OR copy = 1
),
vended AS (
    SELECT e.*,
           get_json_object(responseelements, '$.credentials.accessKeyId') AS new_key,
           get_json_object(requestparameters, '$.roleArn') AS vended_role,
           get_json_object(requestparameters, '$.roleSessionName') AS vended_session,
           COALESCE(get_json_object(responseelements, '$.subjectFromWebIdentityToken'),
                    useridentity.username) AS subject,
           COALESCE(get_json_object(responseelements, '$.provider'),
                    useridentity.identityprovider) AS provider,
           from_json(get_json_object(requestparameters, '$.tags'),
                     'array<struct<key:string,value:string>>') AS tags
    FROM events e
    WHERE eventsource = 'sts.amazonaws.com'
      AND eventname IN ('AssumeRole', 'AssumeRoleWithWebIdentity')
      AND errorcode IS NULL
),
direct AS (
    SELECT new_key, vended_role, vended_session, 'irsa' AS mechanism,
           regexp_extract(provider, '([^/]+)/?$', 1) AS eks_cluster,
           split(subject, ':')[2] AS namespace,
           split(subject, ':')[3] AS service_account
    FROM vended
    WHERE eventname = 'AssumeRoleWithWebIdentity'
      AND subject RLIKE '^system:serviceaccount:[^:]+:[^:]+$'
      AND provider IS NOT NULL AND new_key IS NOT NULL
    UNION ALL
    SELECT new_key, vended_role, vended_session, 'pod-identity' AS mechanism,
           COALESCE(filter(tags, t -> t.key = 'eks-cluster-name')[0].value,
                    regexp_extract(filter(tags, t -> t.key = 'eks-cluster-arn')[0].value, ':cluster/(.*)$', 1)),
           filter(tags, t -> t.key = 'kubernetes-namespace')[0].value,
           filter(tags, t -> t.key = 'kubernetes-service-account')[0].value
    FROM vended
    WHERE eventname = 'AssumeRole'
      AND useridentity.invokedby = 'pods.eks.amazonaws.com'
      AND filter(tags, t -> t.key = 'kubernetes-namespace')[0].value IS NOT NULL
      AND filter(tags, t -> t.key = 'kubernetes-service-account')[0].value IS NOT NULL
      AND (filter(tags, t -> t.key = 'eks-cluster-name')[0].value IS NOT NULL
           OR filter(tags, t -> t.key = 'eks-cluster-arn')[0].value IS NOT NULL)
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
    -- Pod Identity sessions are named eks-<cluster>-<pod>-<uuid>: calls without an access key
    -- join their session by (role, name).
    SELECT regexp_extract(vended_role, ':role/(?:.*/)?([^/]+)$', 1) AS role_name,
           vended_session, eks_cluster, namespace, service_account
    FROM direct
    WHERE mechanism = 'pod-identity' AND vended_session LIKE 'eks-_%'
),
callers AS (
    SELECT e.*,
           COALESCE(useridentity.sessioncontext.sessionissuer.arn,
                    CASE WHEN useridentity.arn RLIKE '^arn:[^:]+:sts::[0-9]*:assumed-role/[^/]+/'
                         THEN regexp_replace(useridentity.arn,
                                             '^arn:([^:]+):sts::([0-9]*):assumed-role/([^/]+)/.*$',
                                             'arn:$1:iam::$2:role/$3') END) AS role_arn,
           regexp_extract(useridentity.arn, ':assumed-role/[^/]+/(.*)$', 1) AS session_name,
           regexp_extract(useridentity.arn, ':assumed-role/([^/]+)/', 1) AS session_role
    FROM events e
    WHERE (eventtype IS NULL OR eventtype NOT IN ('AwsServiceEvent', 'AwsConsoleSignIn'))
      AND useridentity.type IS NOT NULL
      AND useridentity.type <> 'AWSService'
      -- A service account exchanging its token is authorised by the trust policy: not usage.
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
                   concat('eks/', regexp_extract(c.useridentity.identityprovider, '([^/]+)/?$', 1), '/',
                          split(c.useridentity.username, ':')[2], '/',
                          split(c.useridentity.username, ':')[3])
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
                   THEN regexp_extract(c.useridentity.identityprovider, '([^/]+)/?$', 1)
           END AS eks_cluster,
           CASE
               WHEN c.useridentity.type = 'AssumedRole' THEN COALESCE(b.namespace, n.namespace)
               WHEN c.useridentity.type = 'WebIdentityUser' THEN split(c.useridentity.username, ':')[2]
           END AS namespace,
           CASE
               WHEN c.useridentity.type = 'AssumedRole'
                   THEN COALESCE(b.service_account, n.service_account)
               WHEN c.useridentity.type = 'WebIdentityUser' THEN split(c.useridentity.username, ':')[3]
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
           AND c.useridentity.username RLIKE '^system:serviceaccount:[^:]+:[^:]+$'
           AND COALESCE(c.useridentity.identityprovider, '') <> '')
       OR (c.useridentity.type NOT IN ('AssumedRole', 'WebIdentityUser')
           AND COALESCE(c.useridentity.arn, '') <> '')
)
SELECT workload, kind, eks_cluster, namespace, service_account, role,
       eventsource AS event_source, eventname AS event_name, errorcode AS error_code,
       COUNT(*) AS calls, MIN(eventtime) AS first_seen, MAX(eventtime) AS last_seen
FROM attributed
GROUP BY workload, kind, eks_cluster, namespace, service_account, role, eventsource, eventname, errorcode
ORDER BY workload, kind, eks_cluster, namespace, service_account, role, event_source, event_name, error_code

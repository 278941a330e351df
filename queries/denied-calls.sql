-- denied-calls.sql: calls that failed, by workload, action, error code and class.
-- error_class is `denied` (a policy refused it: never a grant; where to look when a workload is
-- missing a permission or probing for ones it should not have), `unauthenticated` (credentials
-- rejected before any policy was evaluated) or `failed` (failed after IAM allowed it: the
-- permission was used and is granted). Null in days stored before classes were kept.
--   iamtrim query queries/denied-calls.sql --store STORE
SELECT workload, role, action, resource, error_code, error_class, SUM(calls) AS calls,
       MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen
FROM usage
WHERE error_code IS NOT NULL
GROUP BY workload, role, action, resource, error_code, error_class
ORDER BY calls DESC, workload, action, resource, error_code, error_class

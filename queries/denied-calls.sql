-- denied-calls.sql: failed calls by workload, action and error code.
-- Failed calls never become grants; this is where to look when a workload is missing a
-- permission (AccessDenied) or probing for ones it should not have.
--   iamtrim query queries/denied-calls.sql --store STORE
SELECT workload, role, action, resource, error_code, SUM(calls) AS calls,
       MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen
FROM usage
WHERE error_code IS NOT NULL
GROUP BY workload, role, action, resource, error_code
ORDER BY calls DESC, workload, action, resource, error_code

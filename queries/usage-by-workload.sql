-- usage-by-workload.sql: what each workload did over the whole store.
-- One row per workload: distinct actions and (action, resource) pairs used, calls that used
-- their permission (successful, or failed after authorization), denied and unauthenticated
-- calls, first and last activity. Service accounts are `eks/<eks_cluster>/<ns>/<sa>`; rows of
-- kind `unbound` are role sessions whose credential vending was not seen (decided per role by
-- its trust policy when a recommendation is made).
--   iamtrim query queries/usage-by-workload.sql --store STORE --format table
SELECT
    workload,
    kind,
    COUNT(DISTINCT action) AS actions,
    COUNT(DISTINCT action || ' ' || resource) AS permissions,
    SUM(CASE WHEN error_code IS NULL OR error_class = 'failed' THEN calls ELSE 0 END) AS calls,
    SUM(CASE WHEN error_class = 'denied' OR (error_code IS NOT NULL AND error_class IS NULL)
        THEN calls ELSE 0 END) AS denied_calls,
    SUM(CASE WHEN error_class = 'unauthenticated' THEN calls ELSE 0 END) AS unauthenticated_calls,
    MIN(first_seen) AS first_seen,
    MAX(last_seen) AS last_seen
FROM usage
GROUP BY workload, kind
ORDER BY workload, kind

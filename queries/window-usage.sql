-- window-usage.sql: the usage a recommendation is computed from.
-- iamtrim runs this (embedded at build time) over the `usage` table restricted to the window's
-- day partitions: one row per (workload, role, action, resource, outcome) with its calls summed
-- over the days and its first and last use. `regions` is a bit set that SQL cannot OR together,
-- so it is a grouping key here and iamtrim ORs the few rows that differ only by it.
SELECT
    workload,
    kind,
    eks_cluster,
    namespace,
    service_account,
    role,
    action,
    resource,
    error_code,
    regions,
    SUM(calls) AS calls,
    MIN(first_seen) AS first_seen,
    MAX(last_seen) AS last_seen
FROM usage
GROUP BY workload, kind, eks_cluster, namespace, service_account, role, action, resource, error_code, regions
ORDER BY workload, kind, role, action, resource, error_code, regions

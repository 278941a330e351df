-- window-usage.sql: the usage a recommendation is computed from.
-- iamtrim runs this (embedded at build time) over the `usage` table restricted to the window's
-- day partitions: one row per (workload, role, action, resource, outcome: error_code and its
-- error_class, null in days stored before classes were kept; implied_by, the call and member a
-- permission is implied by) with its calls summed
-- over the days and its first and last use. `regions` is a bit set that SQL cannot OR together,
-- so it is a grouping key here and iamtrim ORs the few rows that differ only by it. The sample
-- eventIDs are those of the earliest and the latest call: the ID that goes with MIN(first_seen)
-- (smallest ID on a tie) and with MAX(last_seen) (largest on a tie); '~' and '' stand in for a
-- missing ID so that any real one wins.
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
    error_class,
    implied_by,
    regions,
    SUM(calls) AS calls,
    MIN(first_seen) AS first_seen,
    MAX(last_seen) AS last_seen,
    SPLIT_PART(MIN(first_seen || ' ' || COALESCE(first_event_id, '~')), ' ', 2) AS first_event_id,
    SPLIT_PART(MAX(last_seen || ' ' || COALESCE(last_event_id, '')), ' ', 2) AS last_event_id
FROM usage
GROUP BY workload, kind, eks_cluster, namespace, service_account, role, action, resource, error_code, error_class, implied_by, regions
ORDER BY workload, kind, role, action, resource, error_code, error_class, implied_by, regions

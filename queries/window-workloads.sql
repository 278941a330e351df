-- window-workloads.sql: attribution evidence over the window.
-- iamtrim runs this (embedded at build time) over the `workloads` table restricted to the
-- window's day partitions: sessions and events per workload and kind of evidence, summed over
-- the days. Role lists and mechanisms are grouping keys; iamtrim unions them per workload.
SELECT
    workload,
    kind,
    eks_cluster,
    namespace,
    service_account,
    mechanisms,
    roles,
    vended_roles,
    evidence,
    SUM(sessions) AS sessions,
    SUM(events) AS events
FROM workloads
GROUP BY workload, kind, eks_cluster, namespace, service_account, mechanisms, roles, vended_roles, evidence
ORDER BY workload, kind, evidence, roles

-- unused-permissions.sql: permissions a workload used earlier but not in its last 30 days.
-- "Now" is the store's latest day, so the answer depends on the data, not on when it runs.
-- Candidates for removal once the window moves past them. Change 30 to taste.
--   iamtrim query queries/unused-permissions.sql --store STORE
WITH latest AS (SELECT MAX(day) AS day FROM usage WHERE day <> 'undated'),
used AS (
    SELECT workload, role, action, resource, MAX(last_seen) AS last_seen, SUM(calls) AS calls
    FROM usage
    -- Calls that failed after authorization used their permission too.
    WHERE error_code IS NULL OR error_class = 'failed'
    GROUP BY workload, role, action, resource
)
SELECT used.workload, used.role, used.action, used.resource, used.last_seen, used.calls
FROM used CROSS JOIN latest
WHERE SUBSTR(used.last_seen, 1, 10) < STRFTIME(DATE(latest.day) - INTERVAL '30 days', '%Y-%m-%d')
ORDER BY used.workload, used.action, used.resource

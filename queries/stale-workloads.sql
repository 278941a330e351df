-- stale-workloads.sql: workloads with no activity in the store's last 7 days.
-- Their recommendation rests on old evidence only: retired workloads, or jobs that run rarely
-- (check before trusting their policy). "Now" is the store's latest day.
--   iamtrim query queries/stale-workloads.sql --store STORE
WITH latest AS (SELECT MAX(day) AS day FROM usage WHERE day <> 'undated'),
activity AS (SELECT workload, kind, MAX(last_seen) AS last_seen FROM usage GROUP BY workload, kind)
SELECT activity.workload, activity.kind, activity.last_seen
FROM activity CROSS JOIN latest
WHERE SUBSTR(activity.last_seen, 1, 10) < STRFTIME(DATE(latest.day) - INTERVAL '7 days', '%Y-%m-%d')
ORDER BY activity.last_seen, activity.workload

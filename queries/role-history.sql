-- role-history.sql: when each role last used each action, in the store's days before the window.
-- iamtrim runs this (embedded at build time) over the `usage` table restricted to those days, so
-- a diff can say that a grant unused in the window was used before it (a monthly job) and keep
-- it. Calls denied by authorization or rejected before it used no permission; a call that
-- failed after authorization did (and days stored before classes were kept count as used).
SELECT
    role,
    action,
    MAX(last_seen) AS last_seen
FROM usage
WHERE role IS NOT NULL
  AND COALESCE(error_class, 'failed') = 'failed'
GROUP BY role, action
ORDER BY role, action

-- objects-by-day.sql: log objects ingested per delivery day, and their compressed bytes.
-- A gap or a drop shows a day the trail did not deliver (or the job did not read).
--   iamtrim query queries/objects-by-day.sql --store STORE
SELECT day, COUNT(*) AS objects, SUM(size) AS bytes
FROM objects
GROUP BY day
ORDER BY day

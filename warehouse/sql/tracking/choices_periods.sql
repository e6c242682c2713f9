-- What --period may be for tracking: the periods of reviews, and the two-year periods
-- (April to March, starting in an odd year as the study's: 2009-11) holding a notification.
WITH starts AS (
    SELECT DISTINCT year(CAST(notification_date - INTERVAL 3 MONTH AS DATE)) AS fy
    FROM notifications WHERE notification_date IS NOT NULL
),
notified AS (
    SELECT fy - CASE WHEN fy % 2 = 0 THEN 1 ELSE 0 END AS start FROM starts
)
SELECT DISTINCT period AS code FROM (
    SELECT period FROM reviews WHERE period IS NOT NULL
    UNION
    SELECT start::VARCHAR || '-' || lpad(((start + 2) % 100)::VARCHAR, 2, '0') FROM notified
)
ORDER BY code

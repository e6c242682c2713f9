-- The implementation curve per region and board: for m = 0, 1, 2, ... months since the
-- report, among actions of reviews with report_date + m months <= D (n), those completed
-- by then (k: completion date <= report_date + m months).
WITH reported AS (
    SELECT * FROM sel_actions WHERE report_date <= $as_of::DATE
),
months AS (
    SELECT unnest(range(0, coalesce(
        (SELECT max(date_diff('month', report_date, $as_of::DATE)) FROM reported), -1) + 1))
        AS months
)
SELECT m.months::INTEGER AS months, a.region, a.board_code,
    count(*) FILTER (WHERE a.completed_date
        <= CAST(a.report_date + to_months(m.months::INTEGER) AS DATE)) AS k,
    count(*) AS n
FROM months m
JOIN reported a ON CAST(a.report_date + to_months(m.months::INTEGER) AS DATE) <= $as_of::DATE
GROUP BY m.months, a.region, a.board_code
ORDER BY months, region, board_code

-- id: t13_time_to_completion
-- title: Time from incident to completion of report
-- unit: reviews
-- row_header: Time taken
-- identity: not_dated = t12_report_year.no_date
-- A dated report falls in the first band whose limit it does not pass, the limit being
-- incident_date + N calendar months. DuckDB's date + INTERVAL clamps a day that does not
-- exist to the month end (2001-08-31 + 6 months = 2002-02-28; 2003-08-31 -> 2004-02-29),
-- which is the rule; N is always added to incident_date itself, never chained.
WITH dated_bands (row_order, row_code, row_label, within_months) AS (
    VALUES
        (1, 'le_6m', '6 months or less', 6),
        (2, '6_12m', 'Over 6 months to 12 months', 12),
        (3, '12_18m', 'Over 12 months to 18 months', 18),
        (4, 'gt_18m', 'More than 18 months', NULL)
),
code_list AS (
    SELECT row_order, row_code, row_label, false AS only_if_any FROM dated_bands
    UNION ALL
    VALUES (5, 'not_dated', 'Report not dated', false), (999, 'missing', 'Missing', true)
),
answers AS (
    SELECT CASE
        WHEN r.report_date IS NULL THEN 'not_dated'
        WHEN r.incident_date IS NULL THEN 'missing'
        ELSE (
            SELECT arg_min(b.row_code, b.row_order) FROM dated_bands b
            WHERE b.within_months IS NULL
                OR r.report_date <= CAST(r.incident_date + to_months(b.within_months) AS DATE)
        )
    END AS code
    FROM sel_reviews r
)
SELECT 'rows' AS section, l.row_order, l.row_code, l.row_label,
    NULL::INTEGER AS column_order, NULL::VARCHAR AS column_code,
    count(a.code) AS count, (SELECT count(*) FROM answers) AS n
FROM code_list l
LEFT JOIN answers a ON a.code = l.row_code
GROUP BY l.row_order, l.row_code, l.row_label, l.only_if_any
HAVING NOT l.only_if_any OR count(a.code) > 0

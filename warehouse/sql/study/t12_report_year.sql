-- id: t12_report_year
-- title: Date report was completed
-- unit: reviews
-- row_header: Date of report
-- One row per calendar year of report_date present, ascending, then `no_date` (a blank
-- report_date: report not dated), which is a fixed row and so shown even at zero.
WITH answers AS (
    SELECT coalesce(CAST(year(report_date) AS VARCHAR), 'no_date') AS code FROM sel_reviews
),
code_list AS (
    SELECT DISTINCT TRY_CAST(code AS INTEGER) AS row_order, code AS row_code, code AS row_label
    FROM answers WHERE code <> 'no_date'
    UNION ALL
    SELECT 99999, 'no_date', 'No date'
)
SELECT 'rows' AS section, l.row_order, l.row_code, l.row_label,
    NULL::INTEGER AS column_order, NULL::VARCHAR AS column_code,
    count(a.code) AS count, (SELECT count(*) FROM answers) AS n
FROM code_list l
LEFT JOIN answers a ON a.code = l.row_code
GROUP BY l.row_order, l.row_code, l.row_label

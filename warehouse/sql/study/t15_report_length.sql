-- id: t15_report_length
-- title: Length of the report (pages)
-- unit: reviews
-- row_header: Length of the report (pages)
-- Bands of report_pages (hi NULL = open-ended). The frame's minimum is 1 page; the first
-- band starts at 0 as printed so no review can fall outside every band. A blank is
-- `missing`, shown only when some review has one.
WITH bands (row_order, row_code, row_label, lo, hi, only_if_any) AS (
    VALUES
        (1, '0_30', '0-30', 0, 30, false),
        (2, '31_50', '31-50', 31, 50, false),
        (3, '51_75', '51-75', 51, 75, false),
        (4, '76_100', '76-100', 76, 100, false),
        (5, 'over_100', 'Over 100', 101, NULL, false),
        (999, 'missing', 'Missing', NULL, NULL, true)
)
SELECT 'rows' AS section, b.row_order, b.row_code, b.row_label,
    NULL::INTEGER AS column_order, NULL::VARCHAR AS column_code,
    count(r.review_id) AS count, (SELECT count(*) FROM sel_reviews) AS n
FROM bands b
LEFT JOIN sel_reviews r
    ON (b.lo IS NULL AND r.report_pages IS NULL)
    OR (r.report_pages >= b.lo AND (b.hi IS NULL OR r.report_pages <= b.hi))
GROUP BY b.row_order, b.row_code, b.row_label, b.only_if_any
HAVING NOT b.only_if_any OR count(r.review_id) > 0

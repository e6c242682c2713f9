-- id: t17_recommendations_total
-- title: Total number of recommendations
-- unit: reviews
-- row_header: Total number of recommendations
-- Bands of recommendations_total (hi NULL = open-ended; lo NULL = blank). `not_known` is
-- a band of the table, so it is shown even at zero.
WITH bands (row_order, row_code, row_label, lo, hi) AS (
    VALUES
        (1, '0_10', '0-10', 0, 10),
        (2, '11_20', '11-20', 11, 20),
        (3, '21_40', '21-40', 21, 40),
        (4, '41_60', '41-60', 41, 60),
        (5, '61_80', '61-80', 61, 80),
        (6, 'over_80', 'Over 80', 81, NULL),
        (7, 'not_known', 'Not known', NULL, NULL)
)
SELECT 'rows' AS section, b.row_order, b.row_code, b.row_label,
    NULL::INTEGER AS column_order, NULL::VARCHAR AS column_code,
    count(r.review_id) AS count, (SELECT count(*) FROM sel_reviews) AS n
FROM bands b
LEFT JOIN sel_reviews r
    ON (b.lo IS NULL AND r.recommendations_total IS NULL)
    OR (r.recommendations_total >= b.lo AND (b.hi IS NULL OR r.recommendations_total <= b.hi))
GROUP BY b.row_order, b.row_code, b.row_label

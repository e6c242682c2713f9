-- id: t19_action_points_total
-- title: Total number of action points
-- unit: reviews
-- row_header: Total number of action points
-- Bands of action_points_total: 0 means no action plan (`none`); hi NULL = open-ended;
-- lo NULL = blank, `not_known`, a band of the table shown even at zero.
WITH bands (row_order, row_code, row_label, lo, hi) AS (
    VALUES
        (1, 'none', 'None', 0, 0),
        (2, '1_10', '1-10', 1, 10),
        (3, '11_20', '11-20', 11, 20),
        (4, '21_40', '21-40', 21, 40),
        (5, '41_60', '41-60', 41, 60),
        (6, '61_80', '61-80', 61, 80),
        (7, '81_plus', '81 plus', 81, NULL),
        (8, 'not_known', 'Not known', NULL, NULL)
)
SELECT 'rows' AS section, b.row_order, b.row_code, b.row_label,
    NULL::INTEGER AS column_order, NULL::VARCHAR AS column_code,
    count(r.review_id) AS count, (SELECT count(*) FROM sel_reviews) AS n
FROM bands b
LEFT JOIN sel_reviews r
    ON (b.lo IS NULL AND r.action_points_total IS NULL)
    OR (r.action_points_total >= b.lo AND (b.hi IS NULL OR r.action_points_total <= b.hi))
GROUP BY b.row_order, b.row_code, b.row_label

-- id: t02b_age_under_1
-- title: Age of children under one
-- unit: children
-- row_header: Age group
-- identity: n = t02_age.under_1
-- The children under one (age_months 0-11) by month band; n is the number of under-ones,
-- so a blank age is not part of this table.
WITH bands (row_order, row_code, row_label, lo, hi) AS (
    VALUES
        (1, '0_2m', '0 to 2 months', 0, 2),
        (2, '3_5m', '3 to 5 months', 3, 5),
        (3, '6_11m', '6 to 12 months', 6, 11)
),
under_1 AS (SELECT * FROM sel_children WHERE age_months BETWEEN 0 AND 11)
SELECT 'rows' AS section, b.row_order, b.row_code, b.row_label,
    NULL::INTEGER AS column_order, NULL::VARCHAR AS column_code,
    count(c.child_id) AS count, (SELECT count(*) FROM under_1) AS n
FROM bands b
LEFT JOIN under_1 c ON c.age_months BETWEEN b.lo AND b.hi
GROUP BY b.row_order, b.row_code, b.row_label

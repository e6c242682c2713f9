-- id: t02_age
-- title: Age group of children
-- unit: children
-- row_header: Age group
-- identity: 2_and_under = under_1 + 1_2
-- identity: 11_and_over = 11_14 + 15 + 16 + 17
-- Bands of age_months (completed months at the incident). A blank age is `missing`, shown
-- only when some child has one (only_if_any). The summaries overlap the bands, so they are
-- a section of their own.
WITH bands (section, row_order, row_code, row_label, lo, hi, only_if_any) AS (
    VALUES
        ('rows', 1, 'under_1', '0 to 12 months', 0, 11, false),
        ('rows', 2, '1_2', '1 to 2 years', 12, 35, false),
        ('rows', 3, '3_4', '3 to 4 years', 36, 59, false),
        ('rows', 4, '5_10', '5 to 10 years', 60, 131, false),
        ('rows', 5, '11_14', '11 to 14 years', 132, 179, false),
        ('rows', 6, '15', '15 years', 180, 191, false),
        ('rows', 7, '16', '16 years', 192, 203, false),
        ('rows', 8, '17', '17 years', 204, 215, false),
        ('rows', 999, 'missing', 'Missing', NULL, NULL, true),
        ('summaries', 1, '2_and_under', '2 years or under', 0, 35, false),
        ('summaries', 2, '11_and_over', '11 and over', 132, 215, false)
)
SELECT b.section, b.row_order, b.row_code, b.row_label,
    NULL::INTEGER AS column_order, NULL::VARCHAR AS column_code,
    count(c.child_id) AS count, (SELECT count(*) FROM sel_children) AS n
FROM bands b
LEFT JOIN sel_children c
    ON (b.lo IS NULL AND c.age_months IS NULL) OR c.age_months BETWEEN b.lo AND b.hi
GROUP BY b.section, b.row_order, b.row_code, b.row_label, b.only_if_any
HAVING NOT b.only_if_any OR count(c.child_id) > 0

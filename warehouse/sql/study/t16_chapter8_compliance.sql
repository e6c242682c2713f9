-- id: t16_chapter8_compliance
-- title: Compliance with Chapter 8 requirements of Working Together (1999)
-- unit: reviews
-- row_header: Does the report contain the following
-- kind: crosstab
-- percent: no
-- Rows: the c8_* columns of reviews in coding-frame order (Chapter 8 outline-format questions);
-- columns: their code list, then `missing` (blank answers), which is shown only when
-- some cell of the table has a blank. Counts only.
WITH items AS (
    SELECT ordinal AS row_order, name AS row_code, label AS row_label, code_list
    FROM ref_columns WHERE sheet = 'reviews' AND starts_with(name, 'c8_')
),
responses AS (
    SELECT DISTINCT k.ordinal AS column_order, k.code AS column_code
    FROM items i JOIN ref_codes k ON k.list_name = i.code_list
    UNION ALL
    SELECT 999, 'missing'
),
answers AS (
    SELECT item, coalesce(answer, 'missing') AS answer
    FROM sel_reviews UNPIVOT INCLUDE NULLS (answer FOR item IN (COLUMNS('^c8_')))
)
SELECT 'rows' AS section, i.row_order, i.row_code, i.row_label,
    r.column_order, r.column_code,
    count(a.item) AS count, (SELECT count(*) FROM sel_reviews) AS n
FROM items i
CROSS JOIN responses r
LEFT JOIN answers a ON a.item = i.row_code AND a.answer = r.column_code
WHERE r.column_code <> 'missing' OR EXISTS (SELECT 1 FROM answers WHERE answer = 'missing')
GROUP BY i.row_order, i.row_code, i.row_label, r.column_order, r.column_code

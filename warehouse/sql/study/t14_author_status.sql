-- id: t14_author_status
-- title: Status of report author
-- unit: reviews
-- row_header: Status of author
-- One row per code of the author_status code list (order and labels from the coding frame),
-- zeros included; a blank author_status is `missing`, shown only when some reviews have one.
WITH answers AS (SELECT coalesce(author_status, 'missing') AS code FROM sel_reviews),
code_list AS (
    SELECT k.ordinal AS row_order, k.code AS row_code, k.label AS row_label, false AS only_if_any
    FROM ref_columns c JOIN ref_codes k ON k.list_name = c.code_list
    WHERE c.sheet = 'reviews' AND c.name = 'author_status'
    UNION ALL
    SELECT 999, 'missing', 'Missing', true
)
SELECT 'rows' AS section, l.row_order, l.row_code, l.row_label,
    NULL::INTEGER AS column_order, NULL::VARCHAR AS column_code,
    count(a.code) AS count, (SELECT count(*) FROM answers) AS n
FROM code_list l
LEFT JOIN answers a ON a.code = l.row_code
GROUP BY l.row_order, l.row_code, l.row_label, l.only_if_any
HAVING NOT l.only_if_any OR count(a.code) > 0

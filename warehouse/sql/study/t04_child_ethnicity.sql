-- id: t04_child_ethnicity
-- title: Ethnic group of children
-- unit: children
-- row_header: Ethnic group
-- One row per code of the ethnicity code list (order and labels from the coding frame),
-- zeros included; a blank ethnicity is `missing`, shown only when some children have one.
WITH answers AS (SELECT coalesce(ethnicity, 'missing') AS code FROM sel_children),
code_list AS (
    SELECT k.ordinal AS row_order, k.code AS row_code, k.label AS row_label, false AS only_if_any
    FROM ref_columns c JOIN ref_codes k ON k.list_name = c.code_list
    WHERE c.sheet = 'children' AND c.name = 'ethnicity'
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

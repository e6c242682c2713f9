-- id: t18_recommendation_focus
-- title: Focus of recommendations in order of frequency
-- unit: recommendations
-- row_header: Focus of recommendations
-- percent: no
-- order: count
-- Every focus code with its count of recommendation rows, by count descending, ties in
-- code-list order; a blank focus is `missing`, last, shown only when present.
WITH answers AS (SELECT coalesce(focus, 'missing') AS code FROM sel_recommendations),
code_list AS (
    SELECT k.ordinal AS list_order, k.code AS row_code, k.label AS row_label, false AS only_if_any
    FROM ref_columns c JOIN ref_codes k ON k.list_name = c.code_list
    WHERE c.sheet = 'recommendations' AND c.name = 'focus'
    UNION ALL
    SELECT 999, 'missing', 'Missing', true
),
counted AS (
    SELECT l.list_order, l.row_code, l.row_label, count(a.code) AS count
    FROM code_list l
    LEFT JOIN answers a ON a.code = l.row_code
    GROUP BY l.list_order, l.row_code, l.row_label, l.only_if_any
    HAVING NOT l.only_if_any OR count(a.code) > 0
)
SELECT 'rows' AS section,
    CAST(row_number() OVER (ORDER BY row_code = 'missing', count DESC, list_order) AS INTEGER)
        AS row_order,
    row_code, row_label, NULL::INTEGER AS column_order, NULL::VARCHAR AS column_code,
    count, (SELECT count(*) FROM answers) AS n
FROM counted

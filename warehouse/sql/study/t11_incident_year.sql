-- id: t11_incident_year
-- title: Year of incident
-- unit: reviews
-- row_header: Year of incident
-- One row per calendar year of incident_date present in the selection, ascending, code =
-- the year as text; a blank incident_date is `missing`, shown only when present.
WITH answers AS (
    SELECT coalesce(CAST(year(incident_date) AS VARCHAR), 'missing') AS code FROM sel_reviews
)
SELECT 'rows' AS section,
    CASE WHEN code = 'missing' THEN 99999 ELSE TRY_CAST(code AS INTEGER) END AS row_order,
    code AS row_code,
    CASE WHEN code = 'missing' THEN 'Missing' ELSE code END AS row_label,
    NULL::INTEGER AS column_order, NULL::VARCHAR AS column_code,
    count(*) AS count, (SELECT count(*) FROM answers) AS n
FROM answers
GROUP BY code

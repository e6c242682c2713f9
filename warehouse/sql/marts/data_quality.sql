-- Completeness of the key fields by period, region and board: the data-quality mart.
-- One row per (period, region, board_code, field). For each field, `n` items were expected,
-- `recorded` hold an informative answer, `not_stated` hold the code for "not stated / not
-- reported", `missing` were left blank. `items` says what is counted (children, reviews or
-- Chapter 8 answers: 17 per review).
WITH review_fields AS (
    SELECT period, region, board_code, 'parent_ethnicity' AS field, 'reviews' AS items,
           parent_ethnicity AS answer, parent_ethnicity = 'not_stated' AS is_not_stated
    FROM reviews
    UNION ALL
    SELECT period, region, board_code, 'author_status', 'reviews',
           author_status, author_status = 'not_reported'
    FROM reviews
    UNION ALL
    SELECT period, region, board_code, 'report_date', 'reviews',
           CAST(report_date AS VARCHAR), FALSE
    FROM reviews
    UNION ALL
    SELECT period, region, board_code, 'report_pages', 'reviews',
           CAST(report_pages AS VARCHAR), FALSE
    FROM reviews
    UNION ALL
    SELECT period, region, board_code, 'chapter8_answers', 'answers',
           answer, answer = 'not_stated'
    FROM reviews UNPIVOT INCLUDE NULLS (answer FOR item IN (COLUMNS('^c8_')))
),
child_fields AS (
    SELECT r.period, r.region, r.board_code, 'ethnicity' AS field, 'children' AS items,
           c.ethnicity AS answer, c.ethnicity = 'not_stated' AS is_not_stated
    FROM children c JOIN reviews r USING (review_id)
    UNION ALL
    SELECT r.period, r.region, r.board_code, 'disability', 'children',
           c.disability, c.disability = 'not_stated'
    FROM children c JOIN reviews r USING (review_id)
),
all_fields AS (
    SELECT * FROM review_fields
    UNION ALL
    SELECT * FROM child_fields
)
SELECT
    period,
    region,
    board_code,
    field,
    items,
    count(*) AS n,
    count(*) FILTER (WHERE answer IS NOT NULL AND NOT coalesce(is_not_stated, FALSE))
        AS recorded,
    count(*) FILTER (WHERE coalesce(is_not_stated, FALSE)) AS not_stated,
    count(*) FILTER (WHERE answer IS NULL) AS missing
FROM all_fields
GROUP BY ALL
ORDER BY period, region, board_code, field

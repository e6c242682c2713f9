-- What --board may be for tracking: every board with a notification or a review, with its
-- name from its most recent review naming one (code, name).
WITH codes AS (
    SELECT board_code FROM notifications UNION SELECT board_code FROM reviews
),
names AS (
    SELECT board_code,
        arg_max(board_name, period || coalesce(incident_date::VARCHAR, ''))
            FILTER (WHERE board_name IS NOT NULL) AS board_name
    FROM reviews GROUP BY board_code
)
SELECT c.board_code AS code, coalesce(n.board_name, c.board_code) AS name
FROM codes c LEFT JOIN names n USING (board_code)
WHERE c.board_code IS NOT NULL
ORDER BY code

-- Decision within one month, per region and board as of D: n = notifications decided as
-- of D or whose decision was due before D; k = decided on or before the due date.
SELECT region, board_code,
    count(*) FILTER (WHERE decided AND decision_date <= decision_due) AS k,
    count(*) FILTER (WHERE decided OR decision_due < $as_of::DATE) AS n
FROM note_state
GROUP BY region, board_code
ORDER BY region, board_code

-- Completion on time (four months after the decision, or the agreed date), per region and
-- board as of D: n = decided scr with the report completed as of D or due before D;
-- k = report dated on or before its due date.
SELECT region, board_code,
    count(*) FILTER (WHERE report_done AND report_date <= completion_due) AS k,
    count(*) FILTER (WHERE report_done OR completion_due < $as_of::DATE) AS n
FROM note_state
WHERE under_way
GROUP BY region, board_code
ORDER BY region, board_code

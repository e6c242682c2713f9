-- Action points against their due dates as of D, per region and board. Of the actions due
-- (due_date <= D): completed by the due date (k of n = due), completed late, dropped, or
-- still open; and those not yet due, or with no due date.
SELECT region, board_code,
    count(*) FILTER (WHERE due_date <= $as_of::DATE) AS due,
    count(*) FILTER (WHERE due_date <= $as_of::DATE AND completed_date <= due_date)
        AS completed_by_due,
    count(*) FILTER (WHERE due_date <= $as_of::DATE
        AND coalesce(completed_date <= due_date, false) = false
        AND status = 'completed') AS completed_late,
    count(*) FILTER (WHERE due_date <= $as_of::DATE
        AND coalesce(completed_date <= due_date, false) = false
        AND status = 'dropped') AS dropped,
    count(*) FILTER (WHERE due_date <= $as_of::DATE
        AND coalesce(completed_date <= due_date, false) = false
        AND status NOT IN ('completed', 'dropped')) AS open,
    count(*) FILTER (WHERE due_date > $as_of::DATE) AS not_yet_due,
    count(*) FILTER (WHERE due_date IS NULL) AS no_due_date
FROM sel_actions
GROUP BY region, board_code
ORDER BY region, board_code

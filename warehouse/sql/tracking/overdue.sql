-- Everything overdue as of D (days_overdue = D - due, only when D > due): decisions,
-- reviews (report not completed), action plans, and actions (every action of the
-- selected reviews, notified or not, neither completed nor dropped).
WITH overdue_rows AS (
    SELECT 1 AS kind_order, 'decision' AS kind, board_code, region, notification_id,
        review_id, NULL::INTEGER AS action_no, decision_due AS due_date,
        parallel_proceedings, proceedings_ongoing
    FROM note_state WHERE NOT decided AND $as_of::DATE > decision_due
    UNION ALL
    SELECT 2, 'review', board_code, region, notification_id, review_id, NULL,
        completion_due, parallel_proceedings, proceedings_ongoing
    FROM note_state WHERE under_way AND NOT report_done AND $as_of::DATE > completion_due
    UNION ALL
    SELECT 3, 'action_plan', board_code, region, notification_id, review_id, NULL,
        action_plan_due, parallel_proceedings, proceedings_ongoing
    FROM note_state WHERE completed AND NOT plan_in AND $as_of::DATE > action_plan_due
    UNION ALL
    SELECT 4, 'action', a.board_code, a.region, a.notification_id, a.review_id, a.action_no,
        a.due_date, n.parallel_proceedings,
        coalesce(n.parallel_proceedings IN ('criminal', 'coroner', 'both')
            AND (n.proceedings_concluded_date IS NULL
                OR n.proceedings_concluded_date > $as_of::DATE), false)
    FROM sel_actions a LEFT JOIN notifications n USING (notification_id)
    WHERE a.due_date < $as_of::DATE AND a.status NOT IN ('completed', 'dropped')
)
SELECT kind, board_code, region, notification_id, review_id, action_no, due_date,
    date_diff('day', due_date, $as_of::DATE) AS days_overdue,
    parallel_proceedings, proceedings_ongoing
FROM overdue_rows
ORDER BY kind_order, days_overdue DESC, board_code, notification_id, review_id, action_no

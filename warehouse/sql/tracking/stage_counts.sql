-- Stage counts per region and board as of D: "reached" (each stage's own facts, so those
-- gone further count too: the funnel) and "now at" (each notification's furthest stage,
-- in the order of the stages; they add up to notified).
SELECT region, board_code,
    count(*) AS notified,
    count(*) FILTER (WHERE decided) AS decided,
    count(*) FILTER (WHERE decided AND decision = 'scr') AS decided_scr,
    count(*) FILTER (WHERE decided AND decision = 'no_scr') AS decided_no_scr,
    count(*) FILTER (WHERE under_way) AS review_under_way,
    count(*) FILTER (WHERE completed) AS report_completed,
    count(*) FILTER (WHERE plan_received) AS action_plan_received,
    count(*) FILTER (WHERE implemented) AS actions_implemented,
    count(*) FILTER (WHERE NOT decided) AS now_notified,
    count(*) FILTER (WHERE decided AND decision = 'no_scr') AS now_decided,
    count(*) FILTER (WHERE under_way AND NOT completed AND NOT plan_received
        AND NOT implemented) AS now_review_under_way,
    count(*) FILTER (WHERE completed AND NOT plan_received AND NOT implemented)
        AS now_report_completed,
    count(*) FILTER (WHERE plan_received AND NOT implemented) AS now_action_plan_received,
    count(*) FILTER (WHERE implemented) AS now_actions_implemented
FROM note_state
GROUP BY region, board_code
ORDER BY region, board_code

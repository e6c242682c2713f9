-- The state of every notification and action as of $as_of: only facts dated on or before
-- it count, so the state on any past date is reproduced. warehouse/tracking.py prepends
-- these CTEs to every other file of sql/tracking/ (each result reads them, so every
-- definition of the clock exists once, here). Parameters (NULL = no filter):
--   $as_of DATE; $period_start, $period_end DATEs (notifications dated within) and
--   $period (the period of the reviews whose actions count); $region; $board.
-- Months are calendar months: date + to_months(n) clamps to the month end
-- (31 Jan + 1 month = 28/29 Feb), always added to the date itself, never chained.
WITH
-- A board's region: that of its most recent review stating one (as the board catalog).
board_region AS (
    SELECT board_code, coalesce(
        arg_max(region, period || coalesce(incident_date::VARCHAR, ''))
            FILTER (WHERE region <> 'not_stated'),
        'not_stated') AS region
    FROM reviews GROUP BY board_code
),
-- A notification's region: its own, else its board's, else not_stated.
notification_region AS (
    SELECT n.notification_id, coalesce(n.region, b.region, 'not_stated') AS region
    FROM notifications n LEFT JOIN board_region b USING (board_code)
),
-- The linked review of a notification: its review_id, else the review naming it.
linked AS (
    SELECT n.notification_id, coalesce(n.review_id, r.review_id) AS linked_review_id
    FROM notifications n
    LEFT JOIN (
        SELECT notification_id, min(review_id) AS review_id FROM reviews
        WHERE notification_id IS NOT NULL GROUP BY notification_id
    ) r USING (notification_id)
),
-- The notification a review came from (for its actions: region, proceedings).
review_notification AS (
    SELECT l.linked_review_id AS review_id, min(l.notification_id) AS notification_id
    FROM linked l WHERE l.linked_review_id IS NOT NULL GROUP BY l.linked_review_id
),
-- What is known of each action's status as of D: its updates and its own dated status.
-- On the same day an update wins: the actions row's status of that day never held, so it
-- is neither the status nor a completion (its date is no completion date).
action_events AS (
    SELECT review_id, action_no, update_date AS event_date, status
    FROM action_updates WHERE update_date <= $as_of::DATE
    UNION ALL
    SELECT a.review_id, a.action_no, a.status_date, a.status FROM actions a
    WHERE a.status IS NOT NULL AND a.status_date <= $as_of::DATE
        AND NOT EXISTS (
            SELECT 1 FROM action_updates u
            WHERE u.review_id = a.review_id AND u.action_no = a.action_no
                AND u.update_date = a.status_date)
),
action_latest AS (
    SELECT review_id, action_no, status FROM action_events
    QUALIFY row_number() OVER (PARTITION BY review_id, action_no ORDER BY event_date DESC) = 1
),
action_completed AS (
    SELECT review_id, action_no, min(event_date) AS completed_date
    FROM action_events WHERE status = 'completed' GROUP BY review_id, action_no
),
-- Every action as of D: status (not_started when nothing is known yet), completed_date
-- (the first dated status completed), the review's board, period and report date, and the
-- region (the review's notification's, else the board's).
action_state AS (
    SELECT a.review_id, a.action_no, a.due_date,
        coalesce(l.status, 'not_started') AS status, c.completed_date,
        r.board_code, r.period, r.report_date, rn.notification_id,
        coalesce(nr.region, b.region, 'not_stated') AS region
    FROM actions a
    JOIN reviews r USING (review_id)
    LEFT JOIN action_latest l USING (review_id, action_no)
    LEFT JOIN action_completed c USING (review_id, action_no)
    LEFT JOIN review_notification rn USING (review_id)
    LEFT JOIN notification_region nr ON nr.notification_id = rn.notification_id
    LEFT JOIN board_region b ON b.board_code = r.board_code
),
-- Per review, as of D: its actions and those neither completed nor dropped.
review_actions AS (
    SELECT review_id, count(*) AS actions,
        count(*) FILTER (WHERE status NOT IN ('completed', 'dropped')) AS open_actions
    FROM action_state GROUP BY review_id
),
-- The selected actions: of reviews of $period, in $region / of $board.
sel_actions AS (
    SELECT * FROM action_state
    WHERE ($period IS NULL OR period = $period)
        AND ($region IS NULL OR region = $region)
        AND ($board IS NULL OR board_code = $board)
),
-- Every selected notification in view as of D, with its clock and where it is.
note_facts AS (
    SELECT n.notification_id, n.board_code, nr.region, n.notification_date, n.decision,
        n.decision_date, l.linked_review_id AS review_id, n.parallel_proceedings,
        n.proceedings_concluded_date, n.agreed_completion_date,
        r.report_date, r.action_plan_received_date,
        coalesce(n.decision IN ('scr', 'no_scr') AND n.decision_date <= $as_of::DATE, false)
            AS decided,
        CAST(n.notification_date + to_months(1) AS DATE) AS decision_due,
        CASE WHEN n.decision = 'scr' THEN coalesce(
            n.agreed_completion_date, CAST(n.decision_date + to_months(4) AS DATE)) END
            AS completion_due,
        CAST(r.report_date + to_months(1) AS DATE) AS action_plan_due,
        coalesce(r.report_date <= $as_of::DATE, false) AS report_done,
        coalesce(r.action_plan_received_date <= $as_of::DATE, false) AS plan_in,
        coalesce(ra.actions >= 1 AND ra.open_actions = 0, false) AS all_implemented,
        coalesce(n.parallel_proceedings IN ('criminal', 'coroner', 'both')
            AND (n.proceedings_concluded_date IS NULL
                OR n.proceedings_concluded_date > $as_of::DATE), false) AS proceedings_ongoing
    FROM notifications n
    JOIN notification_region nr USING (notification_id)
    JOIN linked l USING (notification_id)
    LEFT JOIN reviews r ON r.review_id = l.linked_review_id
    LEFT JOIN review_actions ra ON ra.review_id = l.linked_review_id
    WHERE n.notification_date <= $as_of::DATE
        AND ($period_start IS NULL
            OR n.notification_date BETWEEN $period_start::DATE AND $period_end::DATE)
        AND ($region IS NULL OR nr.region = $region)
        AND ($board IS NULL OR n.board_code = $board)
),
-- The stages reached. A review is under way once decided scr; its report, action plan and
-- actions are then each reached on their own facts (actions reported implemented count
-- even when the report's date or the plan's receipt went unrecorded). "Now at" is the
-- furthest of them (see stage_counts.sql).
note_state AS (
    SELECT f.*,
        f.decided AND f.decision = 'scr' AS under_way,
        f.decided AND f.decision = 'scr' AND f.report_done AS completed,
        f.decided AND f.decision = 'scr' AND f.plan_in AS plan_received,
        f.decided AND f.decision = 'scr' AND f.all_implemented AS implemented
    FROM note_facts f
)

-- Each board's region for its board rows: its most recent review stating one (boards with
-- notifications only are placed by their notifications, in warehouse/tracking.py).
SELECT board_code, region FROM board_region

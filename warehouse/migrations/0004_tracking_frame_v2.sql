-- Migration 4: coding frame version 2 (issue 11). Notified incidents and progress reports
-- on action points, each with staging and history tables like the review sheets; reviews
-- gain notification_id, published_date and action_plan_received_date (appended, blank for
-- everything loaded before); the ledger counts notifications and action updates.
CREATE TABLE notifications ("notification_id" VARCHAR, "board_code" VARCHAR, "region" VARCHAR, "notification_date" DATE, "incident_date" DATE, "incident_type" VARCHAR, "age_months" INTEGER, "gender" VARCHAR, "decision" VARCHAR, "decision_date" DATE, "review_id" VARCHAR, "parallel_proceedings" VARCHAR, "proceedings_concluded_date" DATE, "agreed_completion_date" DATE, submission_id VARCHAR NOT NULL);
CREATE TABLE stg_notifications ("notification_id" VARCHAR, "board_code" VARCHAR, "region" VARCHAR, "notification_date" DATE, "incident_date" DATE, "incident_type" VARCHAR, "age_months" INTEGER, "gender" VARCHAR, "decision" VARCHAR, "decision_date" DATE, "review_id" VARCHAR, "parallel_proceedings" VARCHAR, "proceedings_concluded_date" DATE, "agreed_completion_date" DATE, submission_id VARCHAR NOT NULL, row_number INTEGER);
CREATE TABLE notifications_history ("notification_id" VARCHAR, "board_code" VARCHAR, "region" VARCHAR, "notification_date" DATE, "incident_date" DATE, "incident_type" VARCHAR, "age_months" INTEGER, "gender" VARCHAR, "decision" VARCHAR, "decision_date" DATE, "review_id" VARCHAR, "parallel_proceedings" VARCHAR, "proceedings_concluded_date" DATE, "agreed_completion_date" DATE, submission_id VARCHAR NOT NULL, replaced_at TIMESTAMP NOT NULL, replaced_by VARCHAR NOT NULL);
CREATE TABLE action_updates ("review_id" VARCHAR, "action_no" INTEGER, "update_date" DATE, "status" VARCHAR, "note" VARCHAR, submission_id VARCHAR NOT NULL);
CREATE TABLE stg_action_updates ("review_id" VARCHAR, "action_no" INTEGER, "update_date" DATE, "status" VARCHAR, "note" VARCHAR, submission_id VARCHAR NOT NULL, row_number INTEGER);
CREATE TABLE action_updates_history ("review_id" VARCHAR, "action_no" INTEGER, "update_date" DATE, "status" VARCHAR, "note" VARCHAR, submission_id VARCHAR NOT NULL, replaced_at TIMESTAMP NOT NULL, replaced_by VARCHAR NOT NULL);
ALTER TABLE reviews ADD COLUMN "notification_id" VARCHAR;
ALTER TABLE reviews ADD COLUMN "published_date" DATE;
ALTER TABLE reviews ADD COLUMN "action_plan_received_date" DATE;
ALTER TABLE stg_reviews ADD COLUMN "notification_id" VARCHAR;
ALTER TABLE stg_reviews ADD COLUMN "published_date" DATE;
ALTER TABLE stg_reviews ADD COLUMN "action_plan_received_date" DATE;
ALTER TABLE reviews_history ADD COLUMN "notification_id" VARCHAR;
ALTER TABLE reviews_history ADD COLUMN "published_date" DATE;
ALTER TABLE reviews_history ADD COLUMN "action_plan_received_date" DATE;
ALTER TABLE submissions ADD COLUMN n_notifications INTEGER;
ALTER TABLE submissions ADD COLUMN n_notifications_new INTEGER;
ALTER TABLE submissions ADD COLUMN n_notifications_replaced INTEGER;
ALTER TABLE submissions ADD COLUMN n_notifications_unchanged INTEGER;
ALTER TABLE submissions ADD COLUMN n_action_updates INTEGER;
ALTER TABLE submissions ADD COLUMN n_action_updates_new INTEGER;
ALTER TABLE submissions ADD COLUMN n_action_updates_replaced INTEGER;
ALTER TABLE submissions ADD COLUMN n_action_updates_unchanged INTEGER;

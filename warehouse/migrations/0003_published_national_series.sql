-- Migration 3: real published national figures (Ofsted/DfE serious incident notifications,
-- the biennial and triennial analyses of serious case reviews, the Child Safeguarding
-- Practice Review Panel), kept apart from the synthetic coded data. One row per figure and
-- source, with the verbatim quote that contains it; where sources disagree every row is
-- kept and `used` marks the one the product shows (warehouse/published.py says which).
-- `published_submissions` is their own ledger: the shipped file and every `scr published
-- add` file accepted, archived by content like a submission.
CREATE TABLE published_national_series (series VARCHAR NOT NULL, period VARCHAR NOT NULL, measure VARCHAR NOT NULL, value DOUBLE NOT NULL, unit VARCHAR NOT NULL, source_title VARCHAR NOT NULL, source_url VARCHAR NOT NULL, quote VARCHAR NOT NULL, source_kind VARCHAR NOT NULL, quote_match VARCHAR NOT NULL, used BOOLEAN NOT NULL, used_reason VARCHAR NOT NULL, origin VARCHAR NOT NULL, submission_id VARCHAR NOT NULL, row_number INTEGER NOT NULL, loaded_at TIMESTAMP NOT NULL);
CREATE TABLE published_submissions (submission_id VARCHAR PRIMARY KEY, sha256 VARCHAR NOT NULL, original_name VARCHAR NOT NULL, origin VARCHAR NOT NULL, archive_path VARCHAR, received_at TIMESTAMP NOT NULL, submitted_by VARCHAR, n_rows INTEGER NOT NULL, report VARCHAR);

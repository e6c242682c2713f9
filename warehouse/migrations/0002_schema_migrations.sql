-- Migration 2: the warehouse records its schema version. One row per migration applied,
-- with when and by which release (the baseline's row says when it was adopted).
CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    checksum VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL,
    release VARCHAR NOT NULL,
    note VARCHAR
);

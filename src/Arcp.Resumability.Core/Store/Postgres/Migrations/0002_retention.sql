-- Schema 2: retention. A job remembers the highest event sequence of its stream that retention
-- purged, so a resume that reaches into purged history is answered with DATA_LOSS (RFC 0001 §19)
-- instead of a silent gap; plus indexes for the age-based purges.

ALTER TABLE jobs ADD COLUMN purged_through_sequence bigint NOT NULL DEFAULT 0;
CREATE INDEX ix_events_created ON events (created_at);
CREATE INDEX ix_jobs_state_updated ON jobs (state, updated_at);
CREATE INDEX ix_ledger_outcome ON idempotency_ledger (outcome);

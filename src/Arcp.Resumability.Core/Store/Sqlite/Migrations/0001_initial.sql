-- Schema 1: event log, sessions, jobs with lease columns, checkpoints, idempotency ledger.
-- Migration scripts are immutable once released; later changes go in new numbered scripts.

CREATE TABLE events (
    sequence       INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: never reused, even after purges
    message_id     TEXT    NOT NULL UNIQUE,
    type           TEXT    NOT NULL,
    direction      TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    session_id     TEXT,
    job_id         TEXT,   -- set only when the envelope is part of the job's canonical (replayable) stream
    correlation_id TEXT,
    created_at     TEXT    NOT NULL,
    envelope       TEXT    NOT NULL
);
CREATE INDEX ix_events_job ON events (job_id, sequence) WHERE job_id IS NOT NULL;
CREATE INDEX ix_events_correlation ON events (correlation_id) WHERE correlation_id IS NOT NULL;

CREATE TABLE sessions (
    session_id  TEXT PRIMARY KEY,
    principal   TEXT NOT NULL,
    client_kind TEXT,
    host        TEXT NOT NULL,
    process_id  INTEGER NOT NULL,
    opened_at   TEXT NOT NULL,
    closed_at   TEXT
);

CREATE TABLE jobs (
    job_id                TEXT PRIMARY KEY,
    principal             TEXT NOT NULL,
    workflow              TEXT NOT NULL,
    name                  TEXT,
    state                 TEXT NOT NULL,
    inputs                TEXT NOT NULL,
    idempotency_key       TEXT,
    result                TEXT,
    error                 TEXT,
    last_checkpoint_id    TEXT,
    last_message_id       TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    lease_session_id      TEXT,
    lease_host            TEXT,
    lease_process_id      INTEGER,
    lease_process_started TEXT,
    lease_expires_at      TEXT
);
CREATE INDEX ix_jobs_principal ON jobs (principal, created_at);
CREATE INDEX ix_jobs_lease_session ON jobs (lease_session_id) WHERE lease_session_id IS NOT NULL;

CREATE TABLE checkpoints (
    checkpoint_id   TEXT PRIMARY KEY,
    job_id          TEXT NOT NULL REFERENCES jobs (job_id),
    step_index      INTEGER NOT NULL,
    step            TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    output          TEXT NOT NULL,
    UNIQUE (job_id, idempotency_key)
);
CREATE INDEX ix_checkpoints_job ON checkpoints (job_id);

CREATE TABLE idempotency_ledger (
    principal       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    expires_at      TEXT,
    PRIMARY KEY (principal, idempotency_key)
);

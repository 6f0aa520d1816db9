-- Schema 1: event log, sessions, jobs with lease columns, checkpoints, idempotency ledger.
-- The same model as the SQLite store's schema 1. Migration scripts are immutable once released;
-- later changes go in new numbered scripts.

CREATE TABLE events (
    sequence       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- never reused, even after purges
    message_id     text        NOT NULL UNIQUE,
    type           text        NOT NULL,
    direction      text        NOT NULL CHECK (direction IN ('in', 'out')),
    session_id     text,
    job_id         text,       -- set only when the envelope is part of the job's canonical (replayable) stream
    correlation_id text,
    created_at     timestamptz NOT NULL,
    envelope       text        NOT NULL
);
CREATE INDEX ix_events_job ON events (job_id, sequence) WHERE job_id IS NOT NULL;
CREATE INDEX ix_events_correlation ON events (correlation_id) WHERE correlation_id IS NOT NULL;

CREATE TABLE sessions (
    session_id  text PRIMARY KEY,
    principal   text        NOT NULL,
    client_kind text,
    host        text        NOT NULL,
    process_id  integer     NOT NULL,
    opened_at   timestamptz NOT NULL,
    closed_at   timestamptz
);

CREATE TABLE jobs (
    job_id                text PRIMARY KEY,
    principal             text        NOT NULL,
    workflow              text        NOT NULL,
    name                  text,
    state                 text        NOT NULL,
    inputs                text        NOT NULL,
    idempotency_key       text,
    result                text,
    error                 text,
    last_checkpoint_id    text,
    last_message_id       text,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    lease_session_id      text,
    lease_host            text,
    lease_process_id      integer,
    lease_process_started timestamptz,
    lease_expires_at      timestamptz
);
CREATE INDEX ix_jobs_principal ON jobs (principal, created_at);
CREATE INDEX ix_jobs_lease_session ON jobs (lease_session_id) WHERE lease_session_id IS NOT NULL;

CREATE TABLE checkpoints (
    position        bigint GENERATED ALWAYS AS IDENTITY, -- recording order (SQLite's rowid)
    checkpoint_id   text PRIMARY KEY,
    job_id          text        NOT NULL REFERENCES jobs (job_id),
    step_index      integer     NOT NULL,
    step            text        NOT NULL,
    message_id      text        NOT NULL,
    idempotency_key text        NOT NULL,
    created_at      timestamptz NOT NULL,
    output          text        NOT NULL,
    UNIQUE (job_id, idempotency_key)
);
CREATE INDEX ix_checkpoints_job ON checkpoints (job_id, position);

CREATE TABLE idempotency_ledger (
    principal       text        NOT NULL,
    idempotency_key text        NOT NULL,
    request_hash    text        NOT NULL,
    outcome         text        NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz,
    PRIMARY KEY (principal, idempotency_key)
);

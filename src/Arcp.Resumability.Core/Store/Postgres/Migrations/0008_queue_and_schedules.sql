-- Durable queues. A queued job is a jobs row in state 'queued' plus its entry here; a worker claims the entry
-- (claimed_at, claimed_by) and moves the job to 'running' in the same transaction.
CREATE TABLE job_queue_entries (
    job_id text PRIMARY KEY,
    queue text NOT NULL,
    priority integer NOT NULL,
    enqueued_at timestamptz NOT NULL,
    claimed_at timestamptz,
    claimed_by text
);
-- Claim order: a queue's unclaimed entries, highest priority first, then oldest first.
CREATE INDEX ix_job_queue_entries_claim ON job_queue_entries (queue, claimed_at, priority DESC, enqueued_at);

-- Per-queue limits that hold across every worker sharing the store; a queue without a row has none.
CREATE TABLE queues (
    name text PRIMARY KEY,
    concurrency integer
);

-- Cron schedules: each fire time starts one job, whose job-level idempotency key is the schedule's name and fire time.
CREATE TABLE schedules (
    principal text NOT NULL,
    name text NOT NULL,
    cron text NOT NULL,
    time_zone text NOT NULL,
    workflow text NOT NULL,
    inputs text NOT NULL,
    queue text NOT NULL,
    missed text NOT NULL,
    next_fire_at timestamptz NOT NULL,
    last_fire_at timestamptz,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (principal, name)
);
-- What the workers' poll reads: schedules whose next fire time has come.
CREATE INDEX ix_schedules_due ON schedules (next_fire_at);

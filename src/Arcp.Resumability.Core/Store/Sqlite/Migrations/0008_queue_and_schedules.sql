-- Durable queues. A queued job is a jobs row in state 'queued' plus its entry here; a worker claims the entry
-- (claimed_at, claimed_by) and moves the job to 'running' in the same transaction.
CREATE TABLE job_queue_entries (
    job_id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    priority INTEGER NOT NULL,
    enqueued_at TEXT NOT NULL,
    claimed_at TEXT,
    claimed_by TEXT
);
-- Claim order: a queue's unclaimed entries, highest priority first, then oldest first.
CREATE INDEX ix_job_queue_entries_claim ON job_queue_entries (queue, claimed_at, priority DESC, enqueued_at);

-- Per-queue limits that hold across every worker sharing the store; a queue without a row has none.
CREATE TABLE queues (
    name TEXT PRIMARY KEY,
    concurrency INTEGER
);

-- Cron schedules: each fire time starts one job, whose job-level idempotency key is the schedule's name and fire time.
CREATE TABLE schedules (
    principal TEXT NOT NULL,
    name TEXT NOT NULL,
    cron TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    workflow TEXT NOT NULL,
    inputs TEXT NOT NULL,
    queue TEXT NOT NULL,
    missed TEXT NOT NULL,
    next_fire_at TEXT NOT NULL,
    last_fire_at TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (principal, name)
);
-- What the workers' poll reads: schedules whose next fire time has come.
CREATE INDEX ix_schedules_due ON schedules (next_fire_at);

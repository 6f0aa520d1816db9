-- Schema 10: a running job's per-step update writes no index page (issue 12). ix_jobs_state_updated keyed every job
-- by (state, updated_at), so each step of a running job moved its entry (updated_at changes every step): one more
-- B-tree page in every step's commit. Its readers are served by two indexes whose keys a step does not change.

DROP INDEX ix_jobs_state_updated;

-- Retention's finished-job purge: finished jobs by last update, oldest first. A running job is not in it, so a step
-- (which moves updated_at, never state) leaves it alone.
CREATE INDEX ix_jobs_finished_updated ON jobs (state, updated_at) WHERE state IN ('completed', 'failed', 'cancelled');

-- Jobs in a state: running jobs of a queue (its concurrency limit, the claims held), running and blocked jobs for a
-- worker's recovery sweep. The key changes only when the job's state does.
CREATE INDEX ix_jobs_state ON jobs (state);

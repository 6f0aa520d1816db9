-- Schema 10: a running job's per-step update writes no index entry it does not have to (issue 12).
-- ix_jobs_state_updated keyed every job by (state, updated_at), so each step of a running job (updated_at changes
-- every step) added an entry for it. Its readers are served by two indexes, kept in step with the SQLite store.

DROP INDEX ix_jobs_state_updated;

-- Retention's finished-job purge: finished jobs by last update, oldest first. A running job has no entry in it.
CREATE INDEX ix_jobs_finished_updated ON jobs (state, updated_at) WHERE state IN ('completed', 'failed', 'cancelled');

-- Jobs in a state: running jobs of a queue (its concurrency limit, the claims held), running and blocked jobs for a
-- worker's recovery sweep.
CREATE INDEX ix_jobs_state ON jobs (state);

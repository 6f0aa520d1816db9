-- Schema 11: the owner's cancel scan costs the same however long the job's history (issue 12). Every step asks
-- whether a cancel request arrived for its job since the last scan; a session's first scan of a job (a resume, a
-- worker's claim) starts at the stream's beginning, and read every event of the job to find the few cancels in it:
-- on a 5,000-step job, 10,000 rows looked up for a resume.

-- A job's inbound cancel requests in stream order: the scan counts those after a sequence, and the relay reads them.
-- Only cancel requests are in it, so a step's event inserts write nothing to it. The stream's last sequence comes
-- from ix_events_job, as the last entry of the job's range.
CREATE INDEX ix_events_job_cancels ON events (job_id, sequence) WHERE type = 'cancel' AND direction = 'in';

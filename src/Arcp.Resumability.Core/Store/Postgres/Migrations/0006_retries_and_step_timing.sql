-- Schema 6: second chances and step timelines (issue 10). A retry (Resume-ArcpJob -Retry) is a new job linked to the failed
-- or cancelled job it continues, since RFC 0001 section 10.2 keeps terminal states final: the original row is never changed.
-- No index: nothing looks jobs up by their original; the link is only shown with the retry.
ALTER TABLE jobs ADD COLUMN retry_of text;

-- Each checkpoint's step timeline: when the step started (in the run that recorded it), how many attempts it took
-- (earlier attempts before a crash included) and how long it ran. NULL for checkpoints recorded before this migration
-- and for the checkpoint a retry carries over from its original. No index: they are only read with their checkpoint.
ALTER TABLE checkpoints ADD COLUMN started_at timestamptz;
ALTER TABLE checkpoints ADD COLUMN attempts integer;
ALTER TABLE checkpoints ADD COLUMN duration_ms bigint;

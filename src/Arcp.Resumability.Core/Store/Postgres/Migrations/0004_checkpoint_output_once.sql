-- A step's output is stored once, in its checkpoint row: the job.checkpoint event keeps the rest of its frame and
-- output_at, where the output was cut from, so a replay puts it back byte for byte (and event retention cannot take
-- it). NULL for every other event and for checkpoint events recorded before this migration (stored whole).
ALTER TABLE events ADD COLUMN output_at integer;
CREATE INDEX ix_checkpoints_message ON checkpoints (message_id);

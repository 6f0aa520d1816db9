-- Schema 9: a schedule may run inline -Step script blocks instead of a named workflow (issue 11). The schedule keeps
-- their script text (the JSON a recorded inline definition holds), its 'sha256:' content hash and the version its
-- checkpoints record, and each run it fires gets a job_definitions row of kind 'inline' copied from these columns, so
-- a worker resolves it like any recorded inline job. Only the local cmdlet (Register-ArcpSchedule) writes schedules;
-- no wire message does. All three are NULL for a -Workflow schedule. No index: they are read with the schedule row.
ALTER TABLE schedules ADD COLUMN script TEXT;
ALTER TABLE schedules ADD COLUMN script_hash TEXT;
ALTER TABLE schedules ADD COLUMN script_version TEXT;

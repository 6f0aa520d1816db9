-- Which version of the workflow definition produced each checkpoint (declared Version or content hash),
-- so a resume with a changed definition is refused. NULL for checkpoints recorded before this migration.
ALTER TABLE checkpoints ADD COLUMN definition_version TEXT;

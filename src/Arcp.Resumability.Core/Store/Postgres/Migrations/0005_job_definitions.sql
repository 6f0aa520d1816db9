-- Schema 5: where each job's definition came from (issue 10), so a resume needs nothing but the job.
-- Rows are written only by the in-process (local cmdlet) path for its own principal, never from a wire frame,
-- and read back only for that principal. No secondary index: the primary key is the only lookup (resume, delete).
CREATE TABLE job_definitions (
    job_id       text PRIMARY KEY REFERENCES jobs (job_id),
    principal    text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('builtin', 'file', 'search_path', 'inline')),
    reference    text        NOT NULL, -- built-in or search-path name, absolute workflow file path, or 'inline'
    content_hash text        NOT NULL, -- 'sha256:' + hex digest of the file's bytes or of the inline script text
    version      text,                 -- the version its checkpoints record (declared Version or content hash)
    script       text,                 -- inline steps only: their script text as JSON
    recorded_at  timestamptz NOT NULL
);

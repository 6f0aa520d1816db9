@{
    Synopsis    = 'Purges old events, sessions and finished (optionally abandoned) jobs from a store and gives the space back; checkpoints stay as long as their job.'
    Description = @'
Invoke-ArcpRetention applies the store's retention policy: events logged longer ago than -EventAge are deleted (a later resume of an affected job reports DATA_LOSS for the missing history, but still continues from its checkpoints), completed, failed and cancelled jobs untouched for longer than -CompletedJobAge are deleted with their checkpoints, and expired idempotency records are dropped. The rows of sessions that ended before the event cut-off go too (a session whose process died without closing it goes once it holds no job's lease). Unfinished jobs are kept, resumable, unless -AbandonedJobAge is given: then those that nobody holds a live lease on and that were not updated for that long are deleted whole. A job whose owner is alive is never deleted.

After deleting, the space is given back to the file system: on a SQLite store created by this version (incremental auto-vacuum) the file shrinks at once; on PostgreSQL the tables are vacuumed. -Compact rewrites the whole store instead (SQLite VACUUM, which also switches a store created by an older version to incremental auto-vacuum; PostgreSQL VACUUM FULL of the store's tables), which makes other writers wait while it runs: schedule it when the store is quiet.

It writes a summary of what was (or, with -WhatIf, would be) deleted: the cut-off times and the numbers of events, jobs, checkpoints and idempotency records. The numbers for -WhatIf and the confirmation prompt are counted in a transaction that is rolled back, so they are real.
'@
    Parameters  = @{
        EventAge        = 'Events logged longer ago than this are deleted. A TimeSpan, or a bare number of days (default 30).'
        CompletedJobAge = 'Completed, failed and cancelled jobs last updated longer ago than this are deleted whole. A TimeSpan, or a bare number of days (default 90).'
        AbandonedJobAge = 'Unfinished (running or interrupted) jobs that nobody holds a live lease on and that were last updated longer ago than this are deleted whole, checkpoints included, so they can no longer be resumed. A TimeSpan, or a bare number of days. Without it such jobs are kept.'
        Compact         = 'Rewrite the store so all its free space goes back to the file system (SQLite VACUUM; PostgreSQL VACUUM FULL, which locks each table while it is rewritten). Other writers wait meanwhile.'
    }
    Inputs      = @()
    Outputs     = 'One summary per run: EventCutoff, JobCutoff, EventsPurged, JobsRemoved, CheckpointsRemoved, IdempotencyRecordsRemoved, SessionsRemoved, AbandonedJobsRemoved, BytesReclaimed and StoreBytes (empty with -WhatIf), Applied and Store.'
    Examples    = @(
        @{ Title = 'See what the default policy would delete'; Code = 'Invoke-ArcpRetention -WhatIf'; Remarks = 'Counts the events older than 30 days and the finished jobs older than 90 days without deleting anything.' }
        @{ Title = 'A tighter policy, unattended'; Code = 'Invoke-ArcpRetention -EventAge 7 -CompletedJobAge 30 -Confirm:$false'; Remarks = 'Keeps a week of events and a month of finished jobs.' }
        @{ Title = 'Bound the disk: drop abandoned jobs and shrink the file'; Code = 'Invoke-ArcpRetention -EventAge 7 -CompletedJobAge 7 -AbandonedJobAge 30 -Compact -Confirm:$false'; Remarks = 'Also deletes unfinished jobs nobody has touched for a month, then rewrites the store; BytesReclaimed says how much the file shrank.' }
    )
    Links       = @('Remove-ArcpJob', 'Get-ArcpJob')
}

@{
    Synopsis    = 'Purges old events and old finished jobs from a store; checkpoints stay as long as their job.'
    Description = @'
Invoke-ArcpRetention applies the store's retention policy: events logged longer ago than -EventAge are deleted (a later resume of an affected job reports DATA_LOSS for the missing history, but still continues from its checkpoints), completed, failed and cancelled jobs untouched for longer than -CompletedJobAge are deleted with their checkpoints, and expired idempotency records are dropped. Running jobs and their checkpoints are never deleted.

It writes a summary of what was (or, with -WhatIf, would be) deleted: the cut-off times and the numbers of events, jobs, checkpoints and idempotency records. The numbers for -WhatIf and the confirmation prompt are counted in a transaction that is rolled back, so they are real.
'@
    Parameters  = @{
        EventAge        = 'Events logged longer ago than this are deleted. A TimeSpan, or a bare number of days (default 30).'
        CompletedJobAge = 'Completed, failed and cancelled jobs last updated longer ago than this are deleted whole. A TimeSpan, or a bare number of days (default 90).'
    }
    Inputs      = @()
    Outputs     = 'One summary per run: EventCutoff, JobCutoff, EventsPurged, JobsRemoved, CheckpointsRemoved, IdempotencyRecordsRemoved, Applied and Store.'
    Examples    = @(
        @{ Title = 'See what the default policy would delete'; Code = 'Invoke-ArcpRetention -WhatIf'; Remarks = 'Counts the events older than 30 days and the finished jobs older than 90 days without deleting anything.' }
        @{ Title = 'A tighter policy, unattended'; Code = 'Invoke-ArcpRetention -EventAge 7 -CompletedJobAge 30 -Confirm:$false'; Remarks = 'Keeps a week of events and a month of finished jobs.' }
    )
    Links       = @('Remove-ArcpJob', 'Get-ArcpJob')
}

@{
    Synopsis    = 'Sets how many jobs of a queue may run at once across every worker sharing the store.'
    Description = @'
Set-ArcpQueue stores a queue's limit in the store, so it holds for the whole fleet: a worker claims a queued job only while fewer than -Concurrency of the queue's jobs are running (leased, or claimed moments ago and about to be). A queue without a limit runs as many jobs as the workers' own -Concurrency allows. Jobs a worker resumes after a crash do not wait for a slot.
'@
    Parameters  = @{
        Name        = 'The queue, as given to Start-ArcpJob -Queue.'
        Concurrency = 'At most this many of the queue''s jobs run at once across all workers; 0 removes the limit.'
    }
    Inputs      = @()
    Outputs     = 'Nothing.'
    Examples    = @(
        @{ Title = 'At most two report jobs at once'; Code = 'Set-ArcpQueue -Name reports -Concurrency 2'; Remarks = 'However many workers run, no more than two jobs of the reports queue run at the same time.' }
    )
    Links       = @('Start-ArcpJob', 'Start-ArcpWorker')
}

@{
    Synopsis    = 'Runs a worker in the foreground: resumes interrupted jobs, runs queued jobs and fires schedules until Ctrl+C.'
    Description = @'
Start-ArcpWorker makes jobs recover by themselves. Until Ctrl+C it repeatedly: queues the due runs of the store's schedules (Register-ArcpSchedule); resumes every Interrupted job whose workflow it can resolve on this host (a built-in or a file on $env:ARCP_WORKFLOW_PATH, by name, never by path; a job it cannot resolve is skipped with a verbose note); and claims queued jobs (Start-ArcpJob -Queue), highest priority first. Up to -Concurrency jobs run at once, each in a slot the worker keeps for its life: a runspace with the module loaded, an embedded session on the store, and the workflows it has loaded (a workflow file is run again only when its content changes, so code at its top runs once per slot, not once per job). A run that leaves its job unfinished closes its slot's session, releasing the lease; the slot's next job gets a new session.

Several workers, in one process or on several machines, may share one store (a SQLite file on one machine, or a PostgreSQL database). A claim is atomic (PostgreSQL FOR UPDATE SKIP LOCKED; SQLite has one writer at a time) and each run is fenced by the job's lease, so no job is driven twice. A queue's limit (Set-ArcpQueue -Concurrency) holds across every worker. Jobs of a worker killed outright are taken over by another worker at once on the same machine (its process is provably gone) and after the lease expires elsewhere.

Each job start, resume, completion and failure is one line with the time, the job id, name, workflow and duration. The lines go to the information stream tagged ArcpWorker (shown on the console like Write-Host; redirect with 6> or collect with -InformationVariable); details go to the verbose stream. On Ctrl+C the jobs in flight are stopped: the step in progress is interrupted, its slot's session is closed, which releases the lease, and the job stays Interrupted at its last checkpoint for the next worker; the worker gives up its queue claims. The step that was interrupted runs again when the job resumes.

When it returns (with -ExitWhenIdle, or if the store fails to open) the worker writes an ArcpWorkerReport with what it did.
'@
    Parameters  = @{
        Concurrency  = 'How many jobs run at once, each in a slot of its own (a runspace and a store session kept for the worker''s life; 1 to 32, default 1).'
        Workflow     = 'Only take jobs of these workflows (names).'
        Queue        = 'Only claim jobs from these queues, and only resume interrupted jobs that came from them.'
        PollSeconds  = 'Seconds between looks at the store while no run ends (default 2), and between looks for interrupted jobs to resume while jobs run. A finishing run wakes the worker at once to claim the next queued job.'
        NoSchedule   = 'Do not fire schedules; leave them to other workers.'
        ExitWhenIdle = 'Return once nothing runs, nothing is left to resume and no queued job is waiting (drain, then exit): for a scheduled task that empties the queue, or for tests.'
    }
    Inputs      = @()
    Outputs     = 'Arcp.Resumability.PowerShell.ArcpWorkerReport when the worker returns: jobs Started (claimed from queues), Resumed, Completed, Failed, Released (left resumable on stop), runs Scheduled, and the Duration.'
    Examples    = @(
        @{ Title = 'Run a worker until Ctrl+C'; Code = '$env:ARCP_WORKFLOW_PATH = ''/srv/arcp/workflows''; Start-ArcpWorker -Store /srv/arcp/arcp.db -Concurrency 4'; Remarks = 'Resumes interrupted jobs, runs queued jobs four at a time and fires schedules, printing one line per job event.' }
        @{ Title = 'Drain a queue, then exit'; Code = 'Start-ArcpWorker -Queue reports -ExitWhenIdle -InformationVariable lines 6>$null'; Remarks = 'Runs what is queued on "reports" and returns the report; the per-job lines are kept in $lines instead of the console.' }
    )
    Links       = @('Start-ArcpJob', 'Set-ArcpQueue', 'Register-ArcpSchedule', 'Get-ArcpJob', 'Resume-ArcpJob')
}

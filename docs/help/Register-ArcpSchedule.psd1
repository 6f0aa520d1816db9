@{
    Synopsis    = 'Registers a cron schedule in the store: at each fire time a worker queues one job of the workflow.'
    Description = @'
Register-ArcpSchedule stores a schedule that workers (Start-ArcpWorker) fire: at each fire time one job of -Workflow with -InputObject is queued on -Queue and run by a worker. The job-level idempotency key of each run is the schedule name plus the fire time, so a fire time starts exactly one job across the fleet, however many workers are awake. Runs are named "<schedule> <fire time in UTC>".

-Cron takes five fields (minute hour day-of-month month day-of-week) or six with seconds first, in the syntax of the Cronos library; it is read in -TimeZone, daylight saving included (a time skipped by a spring change fires at the change, a repeated one fires once). A name already registered is refused with ALREADY_EXISTS; unregister it to change it.

Fire times that passed while no worker was up (older than a minute when a worker notices them) follow -Missed: Skip drops them, RunOnce queues one run for all of them, stamped with the earliest.
'@
    Parameters  = @{
        Name        = 'The schedule''s name, unique in the store for this user.'
        Cron        = 'The cron expression: five fields, or six with seconds first (for example ''0 2 * * *'' every day at 02:00, ''*/15 * * * * *'' every 15 seconds). A bad expression is an INVALID_ARGUMENT error.'
        TimeZone    = 'The time zone the expression is read in: an IANA id such as Europe/Paris (default UTC). An unknown id is an INVALID_ARGUMENT error.'
        Workflow    = 'The workflow each run starts, by name: a built-in or a file on $env:ARCP_WORKFLOW_PATH of the workers.'
        InputObject = 'The input every run starts with, recorded like a job''s input.'
        Queue       = 'The queue runs are recorded on (default "default").'
        Missed      = 'Fire times missed while no worker was up: Skip (default) drops them; RunOnce queues one run for all of them.'
    }
    Inputs      = @()
    Outputs     = 'Arcp.Resumability.PowerShell.ArcpSchedule: the schedule with its next fire time.'
    Examples    = @(
        @{ Title = 'A nightly report in local time'; Code = 'Register-ArcpSchedule -Name nightly -Cron ''30 2 * * *'' -TimeZone Europe/Paris -Workflow research -InputObject ''What changed today?'' -Missed RunOnce'; Remarks = 'Every night at 02:30 Paris time a worker queues one research job; if no worker was up, one catch-up run is queued when one starts.' }
    )
    Links       = @('Get-ArcpSchedule', 'Unregister-ArcpSchedule', 'Start-ArcpWorker')
}

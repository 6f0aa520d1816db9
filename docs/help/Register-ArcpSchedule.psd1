@{
    Synopsis    = 'Registers a cron schedule in the store: at each fire time a worker queues one job of the workflow or inline steps.'
    Description = @'
Register-ArcpSchedule stores a schedule that workers (Start-ArcpWorker) fire: at each fire time one job of -Workflow with -InputObject is queued on -Queue and run by a worker. The job-level idempotency key of each run is the schedule name plus the fire time, so a fire time starts exactly one job across the fleet, however many workers are awake. Runs are named "<schedule> <fire time in UTC>".

-Cron takes five fields (minute hour day-of-month month day-of-week) or six with seconds first, in the syntax of the Cronos library; it is read in -TimeZone, daylight saving included (a time skipped by a spring change fires at the change, a repeated one fires once). A name already registered is refused with ALREADY_EXISTS; unregister it to change it.

-Step takes inline steps instead of a workflow, exactly what Start-ArcpJob -Step accepts (an ordered dictionary of script blocks or policy hashtables). Their script text, with a SHA-256 of it, is recorded with the schedule; each run is recorded as workflow "inline" with that text as its inline definition, so a worker runs it like any recorded inline job (Get-ArcpSchedule shows the workflow as "inline"). Only this local cmdlet writes schedules: no ARCP message can, so no remote client can plant script text in one. A step that relies on a variable captured from this session sees it empty when a worker runs it; keep such data in -InputObject, $env: or literal values.

Fire times that passed while no worker was up (older than a minute when a worker notices them) follow -Missed: Skip drops them, RunOnce queues one run for all of them, stamped with the earliest.
'@
    Parameters  = @{
        Name        = 'The schedule''s name, unique in the store for this user.'
        Cron        = 'The cron expression: five fields, or six with seconds first (for example ''0 2 * * *'' every day at 02:00, ''*/15 * * * * *'' every 15 seconds). A bad expression is an INVALID_ARGUMENT error.'
        TimeZone    = 'The time zone the expression is read in: an IANA id such as Europe/Paris (default UTC). An unknown id is an INVALID_ARGUMENT error.'
        Workflow    = 'The workflow each run starts, by name: a built-in or a file on $env:ARCP_WORKFLOW_PATH of the workers.'
        Step        = 'The steps each run executes, inline: an ordered dictionary ([ordered]@{ … }) of step name to script block or policy hashtable, as Start-ArcpJob -Step accepts. Their script text is recorded with the schedule. Bad steps (not ordered, an empty name, a bad policy) are an INVALID_ARGUMENT error.'
        InputObject = 'The input every run starts with, recorded like a job''s input.'
        Queue       = 'The queue runs are recorded on (default "default").'
        Missed      = 'Fire times missed while no worker was up: Skip (default) drops them; RunOnce queues one run for all of them.'
    }
    Inputs      = @()
    Outputs     = 'Arcp.Resumability.PowerShell.ArcpSchedule: the schedule with its next fire time.'
    Examples    = @(
        @{ Title = 'A nightly report in local time'; Code = 'Register-ArcpSchedule -Name nightly -Cron ''30 2 * * *'' -TimeZone Europe/Paris -Workflow research -InputObject ''What changed today?'' -Missed RunOnce'; Remarks = 'Every night at 02:30 Paris time a worker queues one research job; if no worker was up, one catch-up run is queued when one starts.' }
        @{ Title = 'Inline steps every five minutes'; Code = 'Register-ArcpSchedule -Name disk-check -Cron ''*/5 * * * *'' -InputObject ''/var'' -Step ([ordered]@{ measure = { (Get-ChildItem $_ -Recurse -File -ErrorAction Ignore | Measure-Object Length -Sum).Sum }; report = @{ Run = { "bytes: $_" }; MaxAttempts = 3 } })'; Remarks = 'The two steps'' script text is recorded with the schedule; every five minutes a worker queues one "inline" job and runs these steps, with no workflow file needed on the worker.' }
    )
    Links       = @('Get-ArcpSchedule', 'Unregister-ArcpSchedule', 'Start-ArcpWorker')
}

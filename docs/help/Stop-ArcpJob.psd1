@{
    Synopsis    = 'Cancels jobs (ARCP cancel): a running job stops at its next clean checkpoint, an interrupted one at once.'
    Description = @'
Stop-ArcpJob sends an ARCP cancel request (RFC 0001 §10.4: target job, the job id, the reason and deadline_ms) for each job and reports the runtime's answer.

A job that no live process drives (Interrupted) is cancelled by the runtime directly: it reads Cancelled at once, keeps its checkpoints, and its stream ends with job.cancelled. A job that a live process drives is cancelled cooperatively: the request is recorded in the job's event stream; the owner's runtime relays it to the owner at the owner's next event (a progress, a checkpoint or, at the latest, a heartbeat); the step that is running finishes and is checkpointed (a step can check $ArcpStep.CancellationRequested, or call $ArcpStep.ThrowIfCancellationRequested() to be abandoned instead), and the owner emits job.cancelled rather than starting the next step. A step that ignores the request is stopped shortly before the deadline (its pipeline is stopped, so its finally blocks run; it is not checkpointed) and the job ends Cancelled at its last checkpoint. Stop-ArcpJob waits up to -DeadlineSeconds for that, on an ARCP subscription to the job rather than by polling (it sees the job.cancelled even when another process emits it), and warns if the job is still running then.

Stopping a finished job does nothing. A job of another principal is refused with PERMISSION_DENIED. Stop-ArcpJob supports -WhatIf and -Confirm (ConfirmImpact Medium).
'@
    Parameters  = @{
        JobId           = 'The ids of the jobs to cancel. Binds from the JobId property of piped jobs. Press Tab to complete ids from the store.'
        Reason          = 'Why the job is stopped (default user_aborted). It is recorded in the cancel request and in the cancelled job''s error message.'
        DeadlineSeconds = 'How long the job''s owner has to reach a clean checkpoint, sent as deadline_ms, and how long this command waits for the job to read Cancelled (default 60; 0 does not wait; -Deadline is an alias). A step still running when the deadline is near (a quarter of it, at most 2 s, before) is stopped. The owner hears of the request at its next event, at the latest its next heartbeat ($env:ARCP_HEARTBEAT_SECONDS, 15 s by default), so a deadline shorter than that may pass before the owner can act.'
        PassThru        = 'Write each job after the request was handled (once it stopped, or when the wait ended).'
        WhatIf          = 'Shows which jobs would be cancelled without sending any cancel request.'
        Confirm         = 'Asks for confirmation before cancelling each job.'
    }
    Inputs      = @(
        @{ Type = 'Arcp.Resumability.PowerShell.ArcpJob'; Description = 'Jobs bind by their JobId and Store.' }
    )
    Outputs     = 'With -PassThru, the jobs after cancellation; otherwise nothing.'
    Examples    = @(
        @{ Title = 'Preview, then cancel the nightly jobs'; Code = "Get-ArcpJob -Name nightly* | Stop-ArcpJob -WhatIf`nGet-ArcpJob -Name nightly* | Stop-ArcpJob -Reason 'maintenance window' -PassThru"; Remarks = '-WhatIf lists what would be cancelled and changes nothing; the second line cancels them and writes the jobs, which read Cancelled.' }
        @{ Title = 'Give up on interrupted jobs'; Code = 'Get-ArcpJob -State Interrupted | Stop-ArcpJob -Confirm:$false'; Remarks = 'Interrupted jobs are cancelled at once by the runtime; their checkpoints stay readable with Get-ArcpCheckpoint.' }
    )
    Links       = @('Get-ArcpJob', 'Wait-ArcpJob', 'Resume-ArcpJob')
}

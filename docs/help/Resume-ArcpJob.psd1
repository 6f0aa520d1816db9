@{
    Synopsis    = 'Resumes an interrupted job at the step after its last (or a chosen) checkpoint.'
    Description = @'
Resume-ArcpJob takes over a job whose process died (or whose session closed) and continues it. The runtime replays the job's recorded event stream, names the checkpoint to continue from, and grants this session the job's lease; the steps after that checkpoint then run here, each checkpointed as in Start-ArcpJob. A step that was already recorded under the same idempotency key is not run again: its recorded output is reused.

A job that another live process still drives is refused with ABORTED. A job that already finished is returned as it is, with a warning. Without -Workflow or -Step, the job's recorded definition runs: Start-ArcpJob records where every job it starts came from (a built-in or $env:ARCP_WORKFLOW_PATH workflow by name, a workflow file by its absolute path, inline -Step blocks by their script text, each with a SHA-256 of its content), so Get-ArcpJob -State Interrupted | Resume-ArcpJob needs no other argument, from any folder and any new process. The file is read again from its recorded path and compared with the record; a definition whose content or declared Version changed since the job started is refused with FAILED_PRECONDITION naming both versions, unless -Force is given. Records are made and used only for your own jobs in a local store (see docs/security.md). Jobs without a record (started on a remote runtime, or by an older version) resolve their workflow by name on this host: a built-in workflow, then a <name>.ps1 file in a folder of $env:ARCP_WORKFLOW_PATH (a path list like $env:PSModulePath); a recorded value that is a path is never run (PERMISSION_DENIED), and such jobs started with -Step need the same -Step again. A definition that changed since the last checkpoint (another declared Version, or edited script text when no Version is declared) is also refused with FAILED_PRECONDITION unless -Force is given.

The step to continue with is the one after the last checkpoint in recording order; if that step's workflow declares a transition (Next) for it, the transition picks the step from the recorded output, so a resume inside a loop continues the loop.
'@
    Parameters  = @{
        OnRuntime      = 'Have the runtime continue the job instead of this session (it must have registered the job''s workflow with Start-ArcpRuntime -Workflow). The job is returned at once, Running.'
        AfterMessageId = 'Replay only the job''s messages after this message id (a checkpoint''s MessageId binds here). Without it the whole stream is replayed.'
        CheckpointId   = 'Continue after this checkpoint instead of the latest one. Press Tab to complete the checkpoints of the job given as -JobId.'
        Workflow       = 'The workflow to run instead of the one recorded with the job: a workflow name (built-in or on $env:ARCP_WORKFLOW_PATH) or the path of a regular .ps1 file (anything else, such as an executable, is refused with INVALID_ARGUMENT). It must have the same name as the recorded workflow.'
        Step           = 'Inline steps to run instead of the recorded ones. Jobs started with -Step in a local store record their script text and resume without it; only jobs without a record (started on a remote runtime or by an older version) need the same -Step again.'
        OnCheckpoint   = 'A script block run after each new checkpoint is durable, with the ArcpCheckpoint as $_.'
        Force          = 'Resume even though the workflow definition changed since the job started (its recorded content hash or declared Version differs) or since the checkpoint the job continues from. Every checkpoint records the version of the definition that produced it (the workflow file''s declared Version, else a hash of the file''s or the -Step script text); without -Force a different version is refused with FAILED_PRECONDITION and nothing runs.'
        Wait           = 'When another live process holds the job''s lease, wait until that lease ends (the owner releases it, its process exits, or the lease expires) and then resume, instead of failing with ABORTED. The wait is on an ARCP subscription: the runtime reports the lease''s end, usually within a second, with no polling here.'
        Timeout        = 'With -Wait: give up after this many seconds with DEADLINE_EXCEEDED. By default -Wait waits as long as it takes.'
        Retry          = 'Starts a new attempt of a Failed or Cancelled job, after you fixed the cause. RFC 0001 keeps a terminal state final, so the retry is a new job whose RetryOf is the original''s JobId; the original is not changed. The retry continues after the original''s last checkpoint, or after -CheckpointId (a fork from an earlier checkpoint): it records that checkpoint (with its output) as its own first checkpoint and its next step receives that output. Without -Workflow or -Step the recorded definition runs, as for a resume. Any other state is refused with FAILED_PRECONDITION (resume an Interrupted job without -Retry). Does not combine with -AsJob, -OnRuntime or -Wait; -AfterMessageId (which a piped checkpoint binds) is not used, since a retry replays nothing.'
        AsJob          = 'Runs the remaining steps in a background PowerShell job (type ArcpJob) and returns it at once; see Start-ArcpJob -AsJob. A later Resume-Job (or ResumeJob()) of that PowerShell job resumes the ARCP job again after its latest checkpoint.'
    }
    Inputs      = @(
        @{ Type = 'Arcp.Resumability.PowerShell.ArcpJob'; Description = 'Jobs (for example from Get-ArcpJob -State Interrupted) bind by their JobId and Store.' }
        @{ Type = 'Arcp.Resumability.PowerShell.ArcpCheckpoint'; Description = 'A checkpoint binds JobId, CheckpointId and MessageId: the job continues after it.' }
    )
    Outputs     = 'The job as recorded when the run ended.'
    Examples    = @(
        @{
            Title   = 'Resume every interrupted job'
            Code    = 'Get-ArcpJob -State Interrupted | Resume-ArcpJob'
            Remarks = 'Each interrupted job continues after its last checkpoint with the definition recorded when it started (built-in, workflow file, search-path workflow or inline -Step blocks), from any folder; completed steps are not run again.'
        }
        @{
            Title   = 'Continue after a chosen checkpoint'
            Code    = 'Get-ArcpCheckpoint job_01J… | Where-Object Step -EQ gather | Resume-ArcpJob'
            Remarks = 'The job continues with the step after "gather", using that checkpoint''s recorded output as input.'
        }
        @{
            Title   = 'Give a failed job a second chance'
            Code    = 'Get-ArcpJob -State Failed | Resume-ArcpJob -Retry'
            Remarks = 'After fixing what made the step fail: each failed job gets a new job (RetryOf = its JobId) that continues after its last checkpoint.'
        }
        @{
            Title   = 'Fork from an earlier checkpoint'
            Code    = 'Get-ArcpCheckpoint job_01J… | Where-Object Step -EQ plan | Resume-ArcpJob -Retry'
            Remarks = 'A new job continues after the "plan" checkpoint of the failed job; the steps after it run again.'
        }
        @{
            Title   = 'Continue with a changed workflow on purpose'
            Code    = 'Resume-ArcpJob job_01J… -Workflow ./nightly.ps1 -Force'
            Remarks = 'nightly.ps1 was edited after the job''s last checkpoint; -Force accepts the new definition for the remaining steps.'
        }
    )
    Links       = @('Start-ArcpJob', 'Get-ArcpJob', 'Get-ArcpCheckpoint')
}

@{
    Synopsis    = 'Starts a crash-proof job: runs its steps in this session, checkpointing after each one.'
    Description = @'
Start-ArcpJob records a new job in the store, then runs the workflow's steps one after the other in the current session. After each step its output is written to the store as a durable checkpoint (an ARCP job.checkpoint) before the next step starts, so if the process dies, Resume-ArcpJob continues after the last checkpoint and completed steps never run again.

A workflow is either a built-in name (research), the path of a workflow .ps1 file that returns @{ Name = '…'; Version = '…'; Steps = [ordered]@{ name = { … } } }, or inline steps given with -Step. Each step is a script block: $_ and its first argument are the previous step's output (the job input for the first step), and $ArcpStep describes the running step (JobId, Step, StepIndex, IdempotencyKey) and lets it report progress, thoughts and logs.

The command writes the job (an ArcpJob) when the run ends. A failing step fails the job: the error is written as an error record whose FullyQualifiedErrorId starts with the ARCP error code, and the job is output with State Failed.
'@
    Parameters  = @{
        Workflow       = 'A built-in workflow name (research) or the path of a workflow .ps1 file. Press Tab to complete built-in names and .ps1 files in the current folder.'
        Step           = 'The steps inline: an ordered dictionary ([ordered]@{ … }) of step name to script block. The job records the workflow as "inline"; resume it with the same -Step.'
        InputObject    = 'The job''s input, handed to the first step. It must be representable as JSON (numbers, strings, booleans, arrays, hashtables, PSCustomObjects). Each piped object starts one job.'
        Name           = 'An operator-facing name for the job, shown by Get-ArcpJob and usable with Get-ArcpJob -Name (wildcards).'
        IdempotencyKey = 'A logical idempotency key: starting again with the same key and the same input returns (and continues) the existing job instead of creating a second one; the same key with a different input is refused with ALREADY_EXISTS.'
        OnCheckpoint   = 'A script block run after each checkpoint is durable, with the ArcpCheckpoint as $_ and as its first argument. Use it to log progress or to simulate a crash in tests.'
    }
    Inputs      = @(
        @{ Type = 'System.Object'; Description = 'Each piped object is the input of one new job.' }
    )
    Outputs     = 'The job as recorded when the run ended.'
    Examples    = @(
        @{
            Title   = 'Run the built-in research workflow'
            Code    = "Start-ArcpJob -Workflow research -InputObject @{ Topic = 'durable checkpoints' } -Name nightly-research"
            Remarks = 'Runs the five research steps with a progress bar and writes the completed job; the report is in its Result property.'
        }
        @{
            Title   = 'Inline steps'
            Code    = @'
$job = Start-ArcpJob -InputObject 20 -Step ([ordered]@{
    double = { param($n) $n * 2 }
    report = { "The answer is $_" }
})
$job.Result
'@
            Remarks = 'Each step receives the previous output; the last output becomes the job''s Result ("The answer is 40").'
        }
        @{
            Title   = 'Exactly one job per key'
            Code    = "Start-ArcpJob research -InputObject @{ Topic = 'wal' } -IdempotencyKey 'report-2026-11-26'"
            Remarks = 'Running the same line again returns the existing job (and continues it if it was interrupted) instead of starting another.'
        }
    )
    Links       = @('Resume-ArcpJob', 'Get-ArcpJob', 'Get-ArcpCheckpoint')
}

@{
    Synopsis    = 'Starts a crash-proof job: runs its steps in this session, checkpointing after each one.'
    Description = @'
Start-ArcpJob records a new job in the store, then runs the workflow's steps one after the other in the current session. After each step its output is written to the store as a durable checkpoint (an ARCP job.checkpoint) before the next step starts, so if the process dies, Resume-ArcpJob continues after the last checkpoint and completed steps never run again.

A workflow is either a built-in name (research), the path of a workflow .ps1 file that returns @{ Name = '…'; Version = '…'; Steps = [ordered]@{ name = { … } } }, or inline steps given with -Step. Where the definition came from is recorded with the job (the name, the workflow file's absolute path, or the -Step script text, with a content hash), so Resume-ArcpJob needs no -Workflow or -Step later. Recorded -Step script blocks are their text: a step that relies on a variable captured from this session (a closure, $using-style data) sees it empty after a resume in another process, so keep such data in -InputObject, $env: or literal values. Each step is a script block (or a hashtable whose Run is the script block, with a retry and timeout policy beside it; a workflow file may set a default Policy for all its steps): $_ and its first argument are the previous step's output (the job input for the first step), and $ArcpStep describes the running step (JobId, Step, StepIndex, IdempotencyKey) and lets it report progress, thoughts and logs.

The command writes the job (an ArcpJob) when the run ends. A failing step fails the job: the error is written as an error record whose FullyQualifiedErrorId starts with the ARCP error code, and the job is output with State Failed.
'@
    Parameters  = @{
        Queue          = 'Record the job on this durable queue and return at once, State Queued; a worker (Start-ArcpWorker) claims and runs it. Works on a store directly (-Store), not through -Runtime. The workflow is resolved by the worker by name (a built-in or a file on $env:ARCP_WORKFLOW_PATH), so pass a name, not a path. -IdempotencyKey works as for any job. Set-ArcpQueue limits how many of a queue''s jobs run at once.'
        Priority       = 'With -Queue: jobs with a higher priority are claimed first; equal priorities go oldest first. Default 0.'
        OnRuntime      = 'Have the runtime run the job instead of this session: -Runtime (or Connect-ArcpRuntime) must name a Start-ArcpRuntime that registered the workflow with -Workflow. The job is returned at once, Running; watch it with Get-ArcpJob or Wait-ArcpJob. The embedded runtime registers no workflows, so there it fails with FAILED_PRECONDITION.'
        Workflow       = 'A workflow name (a built-in such as research, else a <name>.ps1 in a folder of $env:ARCP_WORKFLOW_PATH) or the path of a regular workflow .ps1 file; anything else, such as an executable, is refused with INVALID_ARGUMENT. Press Tab to complete built-in names and .ps1 files in the current folder.'
        Step           = 'The steps inline: an ordered dictionary ([ordered]@{ … }) of step name to script block, or to a policy hashtable @{ Run = { … }; MaxAttempts = 5; RetryDelay = ''00:00:02''; Backoff = ''Exponential''; MaxRetryDelay = ''00:01:00''; Timeout = ''00:10:00''; RetryOn = { param($err) … } } (see about_Arcp_Resumability, RETRIES AND TIMEOUTS). A bad policy is an INVALID_ARGUMENT error. With -AsJob the steps and their policies reach the background runspace as text. The job records the workflow as "inline" and the steps'' script text with their policies, so Resume-ArcpJob continues it without -Step (a step that uses variables captured from this session sees them empty after a resume in a new process).'
        InputObject    = 'The job''s input, handed to the first step. It must be representable as JSON (numbers, strings, booleans, arrays, hashtables, PSCustomObjects). Each piped object starts one job.'
        Name           = 'An operator-facing name for the job, shown by Get-ArcpJob and usable with Get-ArcpJob -Name (wildcards).'
        IdempotencyKey = 'A logical idempotency key: starting again with the same key and the same input returns (and continues) the existing job instead of creating a second one; the same key with a different input is refused with ALREADY_EXISTS. A key that names a Failed or Cancelled job returns that job with a warning: run it again with Resume-ArcpJob -JobId <id> -Retry after fixing the cause.'
        OnCheckpoint   = 'A script block run after each checkpoint is durable, with the ArcpCheckpoint as $_ and as its first argument. Use it to log progress or to simulate a crash in tests.'
        AsJob          = @'
Runs the job in a background PowerShell job (type ArcpJob) in its own runspace and returns that job at once. Get-Job, Wait-Job, Receive-Job (which returns the ArcpJob that Start-ArcpJob would have written), Stop-Job and Remove-Job work on it; its Location is the store and its ArcpJobId property names the ARCP job.

Stop-Job (and Suspend-Job on Windows) stops the run like Ctrl+C: the ARCP job is left Interrupted at its last checkpoint, not cancelled (use Stop-ArcpJob to cancel). Resume-Job (Windows) or the job's ResumeJob() method continues it in a fresh runspace. Script blocks are passed to the background runspace as text, so steps cannot use variables captured from the caller; pass data through -InputObject. A job-level idempotency key is generated when -IdempotencyKey is not given, so resuming never starts a second ARCP job.
'@
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
        @{
            Title   = 'In the background, as a PowerShell job'
            Code    = @'
$job = Start-ArcpJob research -InputObject 'How do leases work?' -AsJob
$job | Wait-Job | Receive-Job | Select-Object -ExpandProperty Result
'@
            Remarks = 'The steps run in another runspace; Receive-Job returns the ArcpJob, whose Result is the report.'
        }
        @{
            Title   = 'Steps that talk back'
            Code    = @'
Start-ArcpJob -Step ([ordered]@{
    crunch = {
        foreach ($i in 1..4) { $ArcpStep.ReportProgress($i * 25, "chunk $i of 4") }
        $ArcpStep.Thought('Four chunks were enough; the data is small.')
        $ArcpStep.Log('info', 'crunched', @{ chunks = 4 })
        Write-Warning 'also recorded as a warn log event'
        42
    }
})
'@
            Remarks = 'ReportProgress records a job.progress and shows a child progress bar under the job''s bar; Thought records a chunk of the job''s thought stream (ARCP stream.open kind thought, stream.chunk); Log records an ARCP log event. What a step writes to the Verbose, Warning, Information and Error streams is recorded as log events too and still reaches your streams. Read it all back with Get-ArcpEvent.'
        }
    )
    Links       = @('Resume-ArcpJob', 'Get-ArcpJob', 'Get-ArcpCheckpoint', 'Get-ArcpEvent', 'Stop-ArcpJob')
}

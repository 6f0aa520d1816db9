<#
.SYNOPSIS
    The seed's resumability example in PowerShell: the five-step research job, crash, resume.

.DESCRIPTION
    Fresh run: starts the research job (plan -> gather -> synthesize -> critique -> finalize). With
    CRASH_AFTER_STEP set to a step name, the process exits with code 137 the moment that step's
    checkpoint is durable, after printing the three RESUME_* values a later run needs.

    Resume run: with RESUME_JOB_ID, RESUME_AFTER_MSG_ID and RESUME_CHECKPOINT_ID set, the runtime
    replays the job after that message, and the job continues at the step after the checkpoint.
    Steps already recorded are not run again. On a finished job it says that nothing is left.

    The store is $env:ARCP_STORE if set, else the per-user default (see README.md).

.EXAMPLE
    CRASH_AFTER_STEP=synthesize dotnet pwsh examples/resumability/main.ps1
    RESUME_JOB_ID=... RESUME_AFTER_MSG_ID=... RESUME_CHECKPOINT_ID=... dotnet pwsh examples/resumability/main.ps1
#>
[CmdletBinding()]
param(
    # The module manifest; defaults to $env:ARCP_MODULE_PATH, else the build output.
    [string]$ModulePath = $(if ($env:ARCP_MODULE_PATH) { $env:ARCP_MODULE_PATH } else { Join-Path $PSScriptRoot '../../out/Arcp.Resumability/Arcp.Resumability.psd1' }),

    # What to research; handed to the plan step.
    [string]$Request = 'How do durable checkpoints and idempotency keys make long-running jobs crash-proof?'
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

if (-not (Test-Path -LiteralPath $ModulePath)) {
    throw "Module not found at '$ModulePath'. Run 'dotnet pwsh ./build.ps1 build' first, or set ARCP_MODULE_PATH."
}
Import-Module $ModulePath

# The same workflow file the module runs, read here only to name the step a resume starts at.
$steps = @((& (Join-Path (Split-Path $ModulePath) 'Workflows/research.ps1')).Steps.Keys)

function Write-Line([string]$Text) {
    # Straight to stdout so the lines are out before a simulated crash ends the process.
    [Console]::Out.WriteLine($Text)
    [Console]::Out.Flush()
}

$onCheckpoint = {
    Write-Line "checkpoint: $($_.Step) -> $($_.CheckpointId)"
    if ($env:CRASH_AFTER_STEP -and $_.Step -eq $env:CRASH_AFTER_STEP) {
        Write-Line "RESUME_JOB_ID=$($_.JobId)"
        Write-Line "RESUME_AFTER_MSG_ID=$($_.MessageId)"
        Write-Line "RESUME_CHECKPOINT_ID=$($_.CheckpointId)"
        Write-Line "crashing after '$($_.Step)' (exit 137)"
        # Like the seed's process.exit: no cleanup, no lease release, nothing flushed by us.
        [Environment]::Exit(137)
    }
}

if ($env:RESUME_JOB_ID) {
    $job = Get-ArcpJob -JobId $env:RESUME_JOB_ID
    if ($job.State -in 'Completed', 'Failed', 'Cancelled') {
        Write-Line "job $($job.JobId) is already $($job.State.ToString().ToLowerInvariant()); nothing left to run"
        Write-Line "(its report: (Get-ArcpJob -JobId $($job.JobId)).Result)"
        return
    }

    $resumeArgs = @{ JobId = $env:RESUME_JOB_ID; OnCheckpoint = $onCheckpoint }
    if ($env:RESUME_AFTER_MSG_ID) { $resumeArgs.AfterMessageId = $env:RESUME_AFTER_MSG_ID }
    if ($env:RESUME_CHECKPOINT_ID) {
        $resumeArgs.CheckpointId = $env:RESUME_CHECKPOINT_ID
        $last = Get-ArcpCheckpoint -JobId $env:RESUME_JOB_ID -CheckpointId $env:RESUME_CHECKPOINT_ID
        $next = $last.StepIndex + 1
        Write-Line $(if ($next -lt $steps.Count) { "resuming at $($steps[$next])" } else { 'resuming: every step is recorded, completing the job' })
    }
    else {
        Write-Line "resuming job $($env:RESUME_JOB_ID) after its latest checkpoint"
    }
    $job = Resume-ArcpJob @resumeArgs
}
else {
    Write-Line "starting research job: $Request"
    $job = Start-ArcpJob -Workflow research -InputObject $Request -Name 'resumability-example' -OnCheckpoint $onCheckpoint
}

Write-Line "job $($job.JobId) is $($job.State.ToString().ToLowerInvariant())"
if ($job.State -ne 'Completed') { exit 1 }
Write-Line ''
Write-Line $job.Result

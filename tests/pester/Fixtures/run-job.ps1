<#
    Child process for the crash/resume tests: starts or resumes one job in the store $env:ARCP_STORE.

      -Mode Start  -Workflow <name|path> | -StepFile <file returning [ordered] steps>  [-InputText <string>]
      -Mode Resume -JobId <id> [-Workflow <name|path> | -StepFile <file>] [-CheckpointId <id>]

    Prints "CHECKPOINT <index> <step> <job id>" for every durable checkpoint. With -CrashAfter <step>, the
    process kills itself (SIGKILL: exit code 137, no cleanup, nothing released) right after that step's
    checkpoint is durable. When the job ends, prints "STATE <state>" and, if -ResultPath is given, writes
    the job's Result there byte for byte (UTF-8, no BOM). Exits 0 for a completed job, else 1.
#>
param(
    [Parameter(Mandatory)][ValidateSet('Start', 'Resume')][string]$Mode,
    [string]$Workflow,
    [string]$StepFile,
    [string]$JobId,
    [string]$CheckpointId,
    [string]$InputText,
    [string]$CrashAfter,
    [string]$ResultPath
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module $env:ARCP_MODULE_PATH

$onCheckpoint = {
    [Console]::Out.WriteLine("CHECKPOINT $($_.StepIndex) $($_.Step) $($_.JobId)")
    [Console]::Out.Flush()
    if ($CrashAfter -and $_.Step -eq $CrashAfter) {
        [System.Diagnostics.Process]::GetCurrentProcess().Kill()
    }
}.GetNewClosure()

$common = @{ OnCheckpoint = $onCheckpoint }
if ($StepFile) { $common.Step = & $StepFile }
elseif ($Workflow) { $common.Workflow = $Workflow }

if ($Mode -eq 'Start') {
    if ($PSBoundParameters.ContainsKey('InputText')) { $common.InputObject = $InputText }
    $job = Start-ArcpJob @common
}
else {
    if ($CheckpointId) { $common.CheckpointId = $CheckpointId }
    $job = Resume-ArcpJob -JobId $JobId @common
}

[Console]::Out.WriteLine("STATE $($job.State)")
if ($ResultPath) { [IO.File]::WriteAllText($ResultPath, [string]$job.Result, [Text.UTF8Encoding]::new($false)) }
if ("$($job.State)" -ne 'Completed') { exit 1 }
exit 0

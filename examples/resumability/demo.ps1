<#
.SYNOPSIS
    Runs the crash-and-resume example end to end against a fresh store and shows, from the store,
    that every step ran exactly once.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string]$ModulePath
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$main = Join-Path $PSScriptRoot 'main.ps1'
# This same PowerShell: under 'dotnet pwsh' the process is the dotnet host running pwsh.dll.
$pwsh = [Environment]::ProcessPath
$pwshArgs = @(if ([IO.Path]::GetFileNameWithoutExtension($pwsh) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
$storeFolder = Join-Path ([IO.Path]::GetTempPath()) "arcp-demo-$([Guid]::NewGuid().ToString('N'))"
$store = Join-Path $storeFolder 'arcp.db'

function Invoke-Example([string]$Title, [hashtable]$Environment) {
    Write-Host ''
    Write-Host "==> $Title" -ForegroundColor Cyan
    $saved = @{}
    foreach ($name in @($Environment.Keys) + 'ARCP_STORE', 'ARCP_MODULE_PATH') { $saved[$name] = [Environment]::GetEnvironmentVariable($name) }
    try {
        foreach ($name in $Environment.Keys) { [Environment]::SetEnvironmentVariable($name, $Environment[$name]) }
        $env:ARCP_STORE = $store
        $env:ARCP_MODULE_PATH = $ModulePath
        $output = & $pwsh @pwshArgs -NoProfile -NonInteractive -File $main 2>&1 | ForEach-Object { "$_" }
        $code = $LASTEXITCODE
    }
    finally {
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
    }
    $output | ForEach-Object { Write-Host "    $_" }
    Write-Host "    (exit code $code)"
    [pscustomobject]@{ Output = @($output); ExitCode = $code }
}

try {
    Write-Host "Store: $store"

    $crash = Invoke-Example 'Run 1: CRASH_AFTER_STEP=synthesize' @{ CRASH_AFTER_STEP = 'synthesize' }
    if ($crash.ExitCode -ne 137) { throw "Run 1 should have died with exit code 137, got $($crash.ExitCode)." }
    $resume = @{}
    foreach ($line in $crash.Output) {
        if ($line -match '^(RESUME_JOB_ID|RESUME_AFTER_MSG_ID|RESUME_CHECKPOINT_ID)=(.+)$') { $resume[$Matches[1]] = $Matches[2] }
    }
    if ($resume.Count -ne 3) { throw 'Run 1 did not print the three RESUME_* lines.' }

    $resumed = Invoke-Example 'Run 2: resume with the printed RESUME_* values' $resume
    if ($resumed.ExitCode -ne 0) { throw "Run 2 failed with exit code $($resumed.ExitCode)." }
    if ($resumed.Output -notcontains 'resuming at critique') { throw "Run 2 did not resume at critique." }

    $again = Invoke-Example 'Run 3: the same resume again' $resume
    if ($again.ExitCode -ne 0 -or -not ($again.Output -match 'nothing left to run')) { throw 'Run 3 should have reported that nothing is left.' }

    Write-Host ''
    Write-Host '==> From the store' -ForegroundColor Cyan
    Import-Module $ModulePath
    $job = Get-ArcpJob -JobId $resume.RESUME_JOB_ID -Store $store
    $checkpoints = @(Get-ArcpCheckpoint -JobId $job.JobId -Store $store)
    $checkpoints | Format-Table StepIndex, Step, CheckpointId, MessageId -AutoSize | Out-String | Write-Host
    $ranIn1 = @($crash.Output | Where-Object { $_ -like 'checkpoint: *' }).Count
    $ranIn2 = @($resumed.Output | Where-Object { $_ -like 'checkpoint: *' }).Count
    Write-Host "Job $($job.JobId): $($job.State); run 1 checkpointed $ranIn1 step(s), run 2 checkpointed $ranIn2, run 3 none."
    $perStep = $checkpoints | Group-Object Step
    $expected = 'plan', 'gather', 'synthesize', 'critique', 'finalize'
    if ($job.State -ne 'Completed' -or $checkpoints.Count -ne 5 -or @($perStep | Where-Object Count -ne 1).Count -ne 0 -or
        (Compare-Object $expected @($checkpoints.Step) -SyncWindow 0)) {
        throw 'The store does not show each of the five steps recorded exactly once.'
    }
    Write-Host 'Every step ran exactly once: plan, gather and synthesize before the crash; critique and finalize after the resume.' -ForegroundColor Green
}
finally {
    Remove-Item -LiteralPath $storeFolder -Recurse -Force -ErrorAction SilentlyContinue
}

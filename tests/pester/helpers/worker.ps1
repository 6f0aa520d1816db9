<#
    One worker process of the multi-process tests. Prints "RESULT <json>" lines for the test to read.
    Modes:
      create  start -Count jobs that crash (throw) right after step one's checkpoint: interrupted jobs
      start   start -Count jobs and run them to the end
      drain   Get-ArcpJob -State Interrupted | Resume-ArcpJob, skipping jobs another worker holds
      race    for each id in -JobIds: wait for <Sync>/go-<n>, resume that job, report, touch <Sync>/done-<n>-<pid>;
              the process that drives the job holds it in step two until the other one has reported
      hold    start one job and run it (the test kills this process inside a slow step)
      rescue  wait for <Sync>/go, then resume -JobIds once without and once with -Wait
#>
param(
    [Parameter(Mandatory)][ValidateSet('create', 'start', 'drain', 'race', 'hold', 'rescue')][string]$Mode,
    [Parameter(Mandatory)][string]$Store,
    [int]$Count = 1,
    [string]$JobIds = '',
    [string]$Sync = ''
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module $env:ARCP_MODULE_PATH
$workflow = Join-Path $PSScriptRoot 'fleet-workflow.ps1'

function Out-Result([hashtable]$Result) {
    [Console]::Out.WriteLine('RESULT ' + ($Result | ConvertTo-Json -Compress -Depth 5))
    [Console]::Out.Flush()
}

# Gives up after two minutes, so a worker whose test failed before its cue does not linger.
function Wait-File([string]$Path) {
    $deadline = [DateTime]::UtcNow.AddMinutes(2)
    while (-not (Test-Path -LiteralPath $Path)) {
        if ([DateTime]::UtcNow -gt $deadline) { throw "No $Path within two minutes; the test gave up." }
        Start-Sleep -Milliseconds 10
    }
}

# Tells the test this process is warm (module loaded, store opened once) and waiting for its cue.
if ($Sync) {
    Get-ArcpJob -Store $Store | Out-Null
    $null = New-Item -ItemType File -Path (Join-Path $Sync "ready-$PID")
}

switch ($Mode) {
    'create' {
        $ids = [System.Collections.Generic.List[string]]::new()
        foreach ($n in 1..$Count) {
            try {
                Start-ArcpJob -Workflow $workflow -Store $Store -InputObject $n -OnCheckpoint {
                    $ids.Add($_.JobId)
                    throw 'simulated crash after step one'
                } | Out-Null
            }
            catch {
                if ("$_" -notmatch 'simulated crash') { throw }
            }
        }
        Out-Result @{ jobs = @($ids) }
    }
    'start' {
        $errors = [System.Collections.Generic.List[string]]::new()
        foreach ($n in 1..$Count) {
            try { Start-ArcpJob -Workflow $workflow -Store $Store -InputObject $n | Out-Null }
            catch { $errors.Add("$_") }
        }
        Out-Result @{ errors = @($errors) }
    }
    'drain' {
        $failures = $null
        Get-ArcpJob -State Interrupted -Store $Store |
            Resume-ArcpJob -Workflow $workflow -ErrorAction SilentlyContinue -ErrorVariable failures -WarningAction SilentlyContinue |
            Out-Null
        Out-Result @{ errors = @($failures | ForEach-Object { $_.FullyQualifiedErrorId }) }
    }
    'race' {
        $round = 0
        foreach ($id in $JobIds -split ',') {
            $round++
            Wait-File (Join-Path $Sync "go-$round")
            # Only the process refused with ABORTED can have reported this round while the winner is in step two.
            $env:ARCP_TEST_WAIT_FOR = Join-Path $Sync "done-$round-*"
            $failure = $null
            Resume-ArcpJob -JobId $id -Workflow $workflow -Store $Store -ErrorAction SilentlyContinue -ErrorVariable failure | Out-Null
            Out-Result @{
                round   = $round
                pid     = $PID
                error   = if ($failure) { $failure[0].FullyQualifiedErrorId } else { $null }
                message = if ($failure) { "$($failure[0])" } else { $null }
            }
            $null = New-Item -ItemType File -Path (Join-Path $Sync "done-$round-$PID")
        }
    }
    'hold' {
        Start-ArcpJob -Workflow $workflow -Store $Store | Out-Null
        Out-Result @{ finished = $true }
    }
    'rescue' {
        Wait-File (Join-Path $Sync 'go')
        $job = Get-ArcpJob -JobId $JobIds -Store $Store
        $failure = $null
        Resume-ArcpJob -JobId $JobIds -Workflow $workflow -Store $Store -ErrorAction SilentlyContinue -ErrorVariable failure | Out-Null
        Out-Result @{ state = "$($job.State)"; owner = $job.Owner; error = $failure[0].FullyQualifiedErrorId; message = "$($failure[0])" }
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $resumed = Resume-ArcpJob -JobId $JobIds -Workflow $workflow -Store $Store -Wait -Timeout 30
        Out-Result @{ state = "$($resumed.State)"; waitedSeconds = $watch.Elapsed.TotalSeconds }
    }
}

<#
    One worker process of the chaos harness (Invoke-ChaosRun.ps1), which kills it with kill -9 at random
    instants. It loops: resume every Interrupted job, then claim the next job number (an exclusively
    created file <Claims>/<n>) and start that job; it exits once every number is claimed and nothing is
    Interrupted. What it is doing is appended to the same side-effect file the workflow's steps write
    ($env:ARCP_CHAOS_EFFECTS/<pid>.log) as "<utc ticks> <activity> <job or number> - <pid>" lines, so the
    harness can tell afterwards where each kill landed. Errors other than ABORTED (another worker holds
    the job) are printed as "ERROR <id>: <message>" lines for the harness to report.
#>
param(
    [Parameter(Mandatory)][string]$Store,
    [Parameter(Mandatory)][string]$Workflow,
    [Parameter(Mandatory)][string]$Claims,
    [Parameter(Mandatory)][int]$Jobs,
    # The harness process: a worker outliving it (the harness itself was killed) stops at its next turn.
    [Parameter(Mandatory)][int]$HarnessPid
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$effects = Join-Path $env:ARCP_CHAOS_EFFECTS "$PID.log"

function Write-Activity([string]$Activity, [string]$Subject = '-') {
    [IO.File]::AppendAllText($effects, "$([DateTime]::UtcNow.Ticks) $Activity $Subject - $PID`n")
}

function Write-Failure([object[]]$Failures) {
    foreach ($f in @($Failures)) {
        if ($null -ne $f -and "$($f.FullyQualifiedErrorId)" -notlike 'ABORTED,*') {
            [Console]::Out.WriteLine("ERROR $($f.FullyQualifiedErrorId): $f")
        }
    }
}

# The next unclaimed job number, claimed atomically across processes (CreateNew fails if it exists).
function Get-JobNumber {
    for ($n = 1; $n -le $Jobs; $n++) {
        $path = Join-Path $Claims "$n"
        if (Test-Path -LiteralPath $path) { continue }
        try {
            [IO.File]::Open($path, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write).Dispose()
            return $n
        }
        catch [IO.IOException] { continue }
    }
    return $null
}

Import-Module $env:ARCP_MODULE_PATH
Write-Activity 'ready'
while ($true) {
    if (-not (Get-Process -Id $HarnessPid -ErrorAction Ignore)) { Write-Activity 'orphaned'; exit 3 }
    $interrupted = @(Get-ArcpJob -State Interrupted -Store $Store)
    if ($interrupted.Count -gt 0) {
        Write-Activity 'resume-begin' ($interrupted.JobId -join ',')
        $failures = $null
        $interrupted | Resume-ArcpJob -Workflow $Workflow -ErrorAction SilentlyContinue -ErrorVariable failures -WarningAction SilentlyContinue | Out-Null
        Write-Failure $failures
        Write-Activity 'resume-end'
    }
    $number = Get-JobNumber
    if ($null -eq $number) {
        if ($interrupted.Count -eq 0) { break }
        continue
    }
    Write-Activity 'start-begin' "$number"
    $failures = $null
    Start-ArcpJob -Workflow $Workflow -Store $Store -InputObject $number -Name "chaos-$number" -IdempotencyKey "chaos-$number" -ErrorAction SilentlyContinue -ErrorVariable failures | Out-Null
    Write-Failure $failures
    Write-Activity 'start-end' "$number"
}
Write-Activity 'exit'

<#
.SYNOPSIS
    Chaos run: worker processes drive jobs of tests/chaos/chaos-workflow.ps1 while a killer sends kill -9 to
    whole worker process groups at random instants; afterwards a clean drain finishes what is left and the
    invariants of docs/reliability.md are checked. Exits 1 on any violation.

.DESCRIPTION
    Each round uses a fresh store (a SQLite file, or a fresh schema of a throwaway PostgreSQL server on
    127.0.0.1 that is stopped and deleted at the end, also on failure). $Workers workers (each started
    with setsid, so it leads its own process group) loop over "resume every Interrupted job, claim and
    start the next of $Jobs jobs". The killer picks its moments five ways: at random gaps, shortly after a
    worker was launched (start-up), at a random instant after a worker began Start-ArcpJob, as soon as a step body ends (aiming between the body's end and its
    checkpoint commit) and shortly after a worker begins Resume-ArcpJob. Killed workers are replaced.
    Killing stops after $KillsPerRound kills or once every job was claimed and every worker left; the
    remaining workers then finish, and a drain in this process resumes whatever is left.

    Run it through `dotnet pwsh ./build.ps1 chaos`, or directly with $env:ARCP_MODULE_PATH set to the
    module manifest. Everything is bounded in time: a round that overruns $RoundTimeoutSeconds kills its
    workers (reported as a violation).
#>
[CmdletBinding()]
param(
    [ValidateSet('sqlite', 'postgres')][string]$Store = 'sqlite',
    [ValidateRange(1, 100000)][int]$Rounds = 1,
    [ValidateRange(1, 32)][int]$Workers = 3,
    [ValidateRange(1, 10000)][int]$Jobs = 12,
    [ValidateRange(0, 100000)][int]$KillsPerRound = 15,
    # Gap between random kills, in milliseconds.
    [int]$MinGapMs = 1500,
    [int]$MaxGapMs = 5000,
    # Chances that a freshly launched worker, a step end and a resume begin draw an aimed kill.
    [double]$StartupChance = 0.15,
    [double]$StepEndChance = 0.15,
    [double]$ResumeChance = 0.3,
    # Chance that a worker beginning Start-ArcpJob draws a kill at a random instant of the next 2.5 s.
    [double]$RunChance = 0.35,
    # Longest step body, in milliseconds.
    [int]$StepMs = 300,
    [int]$RoundTimeoutSeconds = 300,
    [int]$Seed = 0,
    # Figures of the whole run as JSON.
    [string]$ResultFile,
    # Keep every round's store and side-effect files (by default only those of a round with a violation).
    [switch]$KeepEvidence
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
if (-not $env:ARCP_MODULE_PATH -or -not (Test-Path -LiteralPath $env:ARCP_MODULE_PATH -PathType Leaf)) {
    throw "Set `$env:ARCP_MODULE_PATH to the module manifest (out/Arcp.Resumability/Arcp.Resumability.psd1); 'build.ps1 chaos' does."
}
if (-not $IsLinux) { throw 'The chaos harness needs Linux (setsid, kill -9 of process groups).' }
foreach ($tool in 'setsid') {
    if (-not (Get-Command $tool -CommandType Application -ErrorAction Ignore)) { throw "The chaos harness needs '$tool' on PATH." }
}
Import-Module $env:ARCP_MODULE_PATH
Import-Module (Join-Path $PSScriptRoot 'ChaosInvariants.psm1') -Force
Import-Module (Join-Path $PSScriptRoot '../pester/helpers/ArcpTestProcesses.psm1') -Force

Add-Type -Namespace ArcpChaos -Name Signal -MemberDefinition @'
[System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
public static extern int kill(int pid, int sig);
'@

$random = if ($Seed) { [Random]::new($Seed) } else { [Random]::new() }
$workflow = Join-Path $PSScriptRoot 'chaos-workflow.ps1'
$workerScript = Join-Path $PSScriptRoot 'chaos-worker.ps1'
$pwsh = @(Get-PwshCommand)
$runFolder = Join-Path ([IO.Path]::GetTempPath()) "arcp-chaos-$([guid]::NewGuid().ToString('N'))"
$null = New-Item -ItemType Directory -Path $runFolder

function Start-ChaosWorker([string]$StoreText, [string]$Claims, [string]$Effects) {
    $start = [Diagnostics.ProcessStartInfo]::new('setsid')
    foreach ($a in @($pwsh) + @('-NoProfile', '-NonInteractive', '-File', $workerScript,
            '-Store', $StoreText, '-Workflow', $workflow, '-Claims', $Claims, '-Jobs', $Jobs, '-HarnessPid', $PID)) { $start.ArgumentList.Add([string]$a) }
    $start.UseShellExecute = $false
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $start.Environment['ARCP_CHAOS_EFFECTS'] = $Effects
    $start.Environment['ARCP_CHAOS_STEP_MS'] = "$StepMs"
    $start.Environment['NO_COLOR'] = '1'
    $process = [Diagnostics.Process]::Start($start)
    [pscustomobject]@{
        Process = $process; Pid = $process.Id; Launched = [DateTime]::UtcNow; Killed = $false
        Out = $process.StandardOutput.ReadToEndAsync(); Err = $process.StandardError.ReadToEndAsync()
        Read = 0L; Pending = ''; Ready = $false; Busy = $false
    }
}

# kill -9 of the worker's process group (setsid made the worker its leader); the bare pid if setsid has
# not run yet, so no group exists.
function Stop-ChaosWorker($Worker) {
    if ([ArcpChaos.Signal]::kill(-$Worker.Pid, 9) -ne 0) { $null = [ArcpChaos.Signal]::kill($Worker.Pid, 9) }
    $Worker.Killed = $true
    $null = $Worker.Process.WaitForExit(10000)
}

# New complete lines of the worker's side-effect file since the last call.
function Read-NewLine($Worker, [string]$Effects) {
    $path = Join-Path $Effects "$($Worker.Pid).log"
    if (-not (Test-Path -LiteralPath $path)) { return @() }
    $stream = [IO.FileStream]::new($path, [IO.FileMode]::Open, [IO.FileAccess]::Read, [IO.FileShare]::ReadWrite -bor [IO.FileShare]::Delete)
    try {
        if ($stream.Length -le $Worker.Read) { return @() }
        $null = $stream.Seek($Worker.Read, [IO.SeekOrigin]::Begin)
        $buffer = [byte[]]::new($stream.Length - $Worker.Read)
        $count = $stream.Read($buffer, 0, $buffer.Length)
        $Worker.Read += $count
        $text = $Worker.Pending + [Text.Encoding]::UTF8.GetString($buffer, 0, $count)
        $cut = $text.LastIndexOf("`n")
        $Worker.Pending = $text.Substring($cut + 1)
        if ($cut -lt 0) { return @() }
        @($text.Substring(0, $cut) -split "`n")
    }
    finally { $stream.Dispose() }
}

function Invoke-Drain([string]$StoreText, [string]$Claims) {
    $resumed = 0; $started = 0; $errors = [System.Collections.Generic.List[string]]::new()
    for ($pass = 0; $pass -lt 3; $pass++) {
        $interrupted = @(Get-ArcpJob -State Interrupted -Store $StoreText)
        $resumed += $interrupted.Count
        $failures = $null
        $interrupted | Resume-ArcpJob -Workflow $workflow -ErrorAction SilentlyContinue -ErrorVariable failures -WarningAction SilentlyContinue | Out-Null
        foreach ($f in @($failures)) { if ($null -ne $f) { $errors.Add("drain resume: $($f.FullyQualifiedErrorId): $f") } }
        # A worker killed after claiming a number and before the job was created leaves no job behind.
        $names = @(Get-ArcpJob -Store $StoreText | ForEach-Object Name)
        foreach ($n in 1..$Jobs) {
            if ("chaos-$n" -in $names) { continue }
            $started++
            $failures = $null
            Start-ArcpJob -Workflow $workflow -Store $StoreText -InputObject $n -Name "chaos-$n" -IdempotencyKey "chaos-$n" -ErrorAction SilentlyContinue -ErrorVariable failures | Out-Null
            foreach ($f in @($failures)) { if ($null -ne $f) { $errors.Add("drain start chaos-${n}: $($f.FullyQualifiedErrorId): $f") } }
        }
        if (@(Get-ArcpJob -State Interrupted -Store $StoreText).Count -eq 0) { break }
    }
    [pscustomobject]@{ Resumed = $resumed; Started = $started; Errors = $errors.ToArray() }
}

function Test-StoreHealth([string]$StoreText, $Server) {
    $problems = [System.Collections.Generic.List[string]]::new()
    if ($Store -eq 'sqlite') {
        # Microsoft.Data.Sqlite is the module's own driver (loaded with it); read-only, unpooled.
        $connection = [Microsoft.Data.Sqlite.SqliteConnection]::new("Data Source=$StoreText;Mode=ReadOnly;Pooling=False")
        try {
            $connection.Open()
            $command = $connection.CreateCommand()
            $command.CommandText = 'PRAGMA integrity_check;'
            $reader = $command.ExecuteReader()
            $check = @(while ($reader.Read()) { $reader.GetString(0) })
            $reader.Dispose()
        }
        finally { $connection.Dispose() }
        if (($check -join "`n") -ne 'ok') { $problems.Add("PRAGMA integrity_check: $($check -join '; ')") }
        return [pscustomobject]@{ Check = "integrity_check $($check -join '; ')"; Problems = $problems.ToArray() }
    }
    $schema = [regex]::Match($StoreText, 'Search Path=([^;]+)').Groups[1].Value
    $query = "SELECT j.job_id || ' ' || j.state || ' ' || j.lease_process_id FROM $schema.jobs j WHERE j.state NOT IN ('completed', 'failed', 'cancelled') AND j.lease_session_id IS NOT NULL;"
    $rows = @(Invoke-ChaosPsql $Server $query)
    $alive = @($rows | Where-Object { $_ } | Where-Object { Test-Path "/proc/$(($_ -split ' ')[2])" })
    foreach ($row in @($rows | Where-Object { $_ })) { $problems.Add("non-terminal job holding a lease after the drain: $row") }
    [pscustomobject]@{ Check = "non-terminal jobs holding a lease: $(@($rows | Where-Object { $_ }).Count) ($($alive.Count) of a live process)"; Problems = $problems.ToArray() }
}

function Invoke-ChaosPsql($Server, [string]$Query) {
    $port = [regex]::Match($Server.ConnectionString, 'Port=(\d+)').Groups[1].Value
    $hostName = [regex]::Match($Server.ConnectionString, 'Host=([^;]+)').Groups[1].Value
    $psql = if ($Server.Bin) { Join-Path $Server.Bin 'psql' } else { 'psql' }
    $output = @(& $psql -h $hostName -p $port -U postgres -d postgres -At -v ON_ERROR_STOP=1 -c $Query 2>&1)
    if ($LASTEXITCODE -ne 0) { throw "psql failed: $($output -join ' ')" }
    $output
}

function Invoke-ChaosRound([int]$Round, $Server) {
    $folder = Join-Path $runFolder "round-$Round"
    $claims = Join-Path $folder 'claims'; $effects = Join-Path $folder 'effects'
    $null = New-Item -ItemType Directory -Path $claims, $effects
    $storeText = if ($Store -eq 'sqlite') { Join-Path $folder 'chaos.db' } else { New-TestPostgresStore $Server }
    # Create and migrate the store once, so start-up kills hit workers rather than the first migration. Only
    # Start-ArcpJob creates a store, so a no-op job does it and is removed again before the workers start.
    Start-ArcpJob -Store $storeText -Name 'chaos-store-setup' -Step ([ordered]@{ setup = { $null } }) | Remove-ArcpJob -Confirm:$false

    $pool = [System.Collections.Generic.List[object]]::new()
    $kills = [System.Collections.Generic.List[object]]::new()
    $workerErrors = [System.Collections.Generic.List[string]]::new()
    $aimed = [System.Collections.Generic.List[object]]::new()   # { Worker; At; Reason }
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $deadline = [DateTime]::UtcNow.AddSeconds($RoundTimeoutSeconds)
    $nextRandom = [DateTime]::UtcNow.AddMilliseconds($random.Next($MinGapMs, $MaxGapMs))
    $killing = $true
    $randomTarget = $null
    $timedOut = $false

    $launch = {
        $w = Start-ChaosWorker $storeText $claims $effects
        $pool.Add($w)
        $script:launchedCount++
        if ($killing -and $random.NextDouble() -lt $StartupChance) {
            $aimed.Add([pscustomobject]@{ Worker = $w; At = [DateTime]::UtcNow.AddMilliseconds($random.Next(0, 2500)); Reason = 'startup' })
        }
    }
    $script:launchedCount = 0
    for ($i = 0; $i -lt $Workers; $i++) { & $launch }

    $kill = {
        param($w, [string]$Reason)
        if ($w.Process.HasExited -or $w.Killed) { return }
        Stop-ChaosWorker $w
        $kills.Add([pscustomobject]@{ Pid = $w.Pid; Reason = $Reason; At = [DateTime]::UtcNow })
    }

    while ($true) {
        $now = [DateTime]::UtcNow
        if ($now -gt $deadline) { $timedOut = $true; break }
        $live = @($pool | Where-Object { -not $_.Process.HasExited })
        if ($killing) {
            $claimedAll = [IO.Directory]::GetFiles($claims).Length -ge $Jobs
            if ($kills.Count -ge $KillsPerRound -or ($claimedAll -and $live.Count -eq 0)) { $killing = $false; $aimed.Clear() }
        }
        if (-not $killing -and $live.Count -eq 0) { break }

        if ($killing) {
            foreach ($w in $live) {
                foreach ($line in (Read-NewLine $w $effects)) {
                    $event = ($line -split ' ')[1]
                    if ($event -eq 'ready') { $w.Ready = $true }
                    if ($event -in 'start-begin', 'resume-begin') { $w.Busy = $true }
                    if ($event -in 'start-end', 'resume-end') { $w.Busy = $false }
                    if ($event -eq 'step-end' -and $random.NextDouble() -lt $StepEndChance) {
                        & $kill $w 'step-end'
                        break
                    }
                    if ($event -eq 'start-begin' -and $random.NextDouble() -lt $RunChance) {
                        $aimed.Add([pscustomobject]@{ Worker = $w; At = $now.AddMilliseconds($random.Next(0, 2500)); Reason = 'in-run' })
                    }
                    if ($event -eq 'resume-begin' -and $random.NextDouble() -lt $ResumeChance) {
                        $aimed.Add([pscustomobject]@{ Worker = $w; At = $now.AddMilliseconds($random.Next(0, 1500)); Reason = 'resume' })
                    }
                }
            }
            foreach ($a in @($aimed | Where-Object { $_.At -le $now })) {
                $null = $aimed.Remove($a)
                if ($kills.Count -lt $KillsPerRound) { & $kill $a.Worker $a.Reason }
            }
            # Random kills go to workers past start-up (start-up has its own aimed kills; pwsh takes seconds
            # to start, so random instants would otherwise mostly hit start-up).
            # Nine in ten go to a worker inside Start-ArcpJob or Resume-ArcpJob (waiting for one if need be),
            # the rest to any worker past start-up (querying, claiming, between calls).
            if ($now -ge $nextRandom -and $null -eq $randomTarget) { $randomTarget = if ($random.NextDouble() -lt 0.9) { 'busy' } else { 'any' } }
            $live = @($pool | Where-Object { $_.Ready -and -not $_.Process.HasExited })
            if ($randomTarget -eq 'busy') { $live = @($live | Where-Object Busy) }
            if ($now -ge $nextRandom -and $live.Count -gt 0 -and $kills.Count -lt $KillsPerRound) {
                $randomTarget = $null
                & $kill $live[$random.Next(0, $live.Count)] 'random'
                $nextRandom = $now.AddMilliseconds($random.Next($MinGapMs, $MaxGapMs))
            }
            # Killed workers are replaced; so is any worker while job numbers remain unclaimed.
            $claimedAll = [IO.Directory]::GetFiles($claims).Length -ge $Jobs
            foreach ($w in @($pool | Where-Object { $_.Process.HasExited -and -not $_.PSObject.Properties['Replaced'] })) {
                $w | Add-Member -NotePropertyName Replaced -NotePropertyValue $true
                if ($w.Killed -or -not $claimedAll) { & $launch }
            }
        }
        Start-Sleep -Milliseconds 10
    }
    foreach ($w in @($pool | Where-Object { -not $_.Process.HasExited })) { Stop-ChaosWorker $w }
    foreach ($w in $pool) {
        $null = $w.Process.WaitForExit(10000)
        if (-not $w.Killed -and $w.Process.ExitCode -ne 0) { $workerErrors.Add("worker $($w.Pid) exited with $($w.Process.ExitCode): $($w.Err.Result.Trim())") }
        foreach ($line in ($w.Out.Result -split "`r?`n" | Where-Object { $_ -like 'ERROR *' })) { $workerErrors.Add("worker $($w.Pid): $line") }
    }
    $leftForDrain = @(Get-ArcpJob -State Interrupted -Store $storeText).Count
    # Every worker is gone now: a job that is neither finished nor Interrupted holds the lease of a dead
    # process that the store failed to recognise as dead (an orphaned lease).
    $orphaned = @(Get-ArcpJob -Store $storeText | Where-Object { "$($_.State)" -notin 'Completed', 'Failed', 'Cancelled', 'Interrupted' })

    # The clean drain, in this process; its steps log to the same side-effect folder.
    $env:ARCP_CHAOS_EFFECTS = $effects
    $env:ARCP_CHAOS_STEP_MS = "$StepMs"
    try { $drain = Invoke-Drain $storeText $claims }
    finally { $env:ARCP_CHAOS_EFFECTS = $null }

    $jobsFound = @(Get-ArcpJob -Store $storeText)
    $checkpoints = @{}
    foreach ($j in $jobsFound) { $checkpoints[[string]$j.JobId] = @(Get-ArcpCheckpoint -JobId $j.JobId -Store $storeText) }
    $effectLines = Read-ChaosEffect $effects
    $phases = @(if ($kills.Count -gt 0) { Get-ChaosKillPhase -Kills $kills.ToArray() -Effects $effectLines })
    $verdict = Test-ChaosInvariant -JobCount $Jobs -Jobs $jobsFound -Checkpoints $checkpoints -Effects $effectLines -KilledPids @($kills | ForEach-Object Pid)
    $health = Test-StoreHealth $storeText $Server

    $violations = [System.Collections.Generic.List[string]]::new()
    foreach ($v in $verdict.Violations) { $violations.Add($v) }
    foreach ($v in $health.Problems) { $violations.Add($v) }
    foreach ($v in $workerErrors) { $violations.Add("unexpected worker error: $v") }
    foreach ($v in $drain.Errors) { $violations.Add("unexpected drain error: $v") }
    foreach ($j in $orphaned) { $violations.Add("job $($j.Name) ($($j.JobId)) reads $($j.State), owned by $($j.Owner), after every worker was gone (orphaned lease)") }
    if ($timedOut) { $violations.Add("the round did not finish within $RoundTimeoutSeconds s; its workers were killed") }

    [pscustomobject]@{
        Round = $Round; Seconds = [Math]::Round($watch.Elapsed.TotalSeconds, 1); Workers = $script:launchedCount
        Kills = $kills.Count; Phases = $phases; Jobs = $jobsFound.Count; StepRuns = $verdict.StepRuns
        ReRuns = $verdict.ReRuns; ReRunsAfterKillInBody = $verdict.ReRunsAfterKillInBody; ReRunsAfterKillBeforeCommit = $verdict.ReRunsAfterKillBeforeCommit
        LeftForDrain = $leftForDrain; DrainResumed = $drain.Resumed; DrainStarted = $drain.Started
        StoreCheck = $health.Check; Violations = $violations.ToArray()
    }
}

$server = $null
$results = [System.Collections.Generic.List[object]]::new()
$total = [Diagnostics.Stopwatch]::StartNew()
try {
    if ($Store -eq 'postgres') { $server = Start-TestPostgres }
    for ($round = 1; $round -le $Rounds; $round++) {
        $r = Invoke-ChaosRound $round $server
        $results.Add($r)
        Write-Host ("round {0}/{1} ({2}): {3} s, {4} workers, {5} kills, {6} jobs, {7} step runs, {8} re-runs, {9} left for the drain; {10}; {11}" -f
            $round, $Rounds, $Store, $r.Seconds, $r.Workers, $r.Kills, $r.Jobs, $r.StepRuns, $r.ReRuns, $r.LeftForDrain, $r.StoreCheck,
            $(if ($r.Violations.Count -eq 0) { 'invariants hold' } else { "$($r.Violations.Count) VIOLATION(S)" }))
        foreach ($v in $r.Violations) { Write-Host "  VIOLATION: $v" }
        if ($r.Violations.Count -eq 0 -and -not $KeepEvidence) { Remove-Item -LiteralPath (Join-Path $runFolder "round-$round") -Recurse -Force -ErrorAction SilentlyContinue }
    }
}
finally {
    if ($server) { Stop-TestPostgres $server }
}

$allPhases = @($results | ForEach-Object { $_.Phases })
$summary = [ordered]@{
    Store = $Store; Rounds = $results.Count; Seconds = [Math]::Round($total.Elapsed.TotalSeconds, 1)
    WorkersLaunched = ($results | Measure-Object Workers -Sum).Sum
    Kills = ($results | Measure-Object Kills -Sum).Sum
    KillsByReason = [ordered]@{}; KillsByPhase = [ordered]@{}
    Jobs = ($results | Measure-Object Jobs -Sum).Sum
    StepRuns = ($results | Measure-Object StepRuns -Sum).Sum
    ReRuns = ($results | Measure-Object ReRuns -Sum).Sum
    ReRunsAfterKillInBody = ($results | Measure-Object ReRunsAfterKillInBody -Sum).Sum
    ReRunsAfterKillBeforeCommit = ($results | Measure-Object ReRunsAfterKillBeforeCommit -Sum).Sum
    LeftForDrain = ($results | Measure-Object LeftForDrain -Sum).Sum
    Violations = @($results | ForEach-Object { foreach ($v in $_.Violations) { "round $($_.Round): $v" } })
}
foreach ($g in ($allPhases | Group-Object Reason | Sort-Object Name)) { $summary.KillsByReason[$g.Name] = $g.Count }
foreach ($g in ($allPhases | Group-Object Phase | Sort-Object Name)) { $summary.KillsByPhase[$g.Name] = $g.Count }

Write-Host ''
Write-Host "==> Chaos summary ($Store)"
Write-Host ("{0} rounds in {1} s: {2} workers launched, {3} kills, {4} jobs, {5} step runs, {6} re-runs ({7} of a step killed in its body, {8} of a step killed after its body ended and before its checkpoint was recorded), {9} jobs left for the drain" -f
    $summary.Rounds, $summary.Seconds, $summary.WorkersLaunched, $summary.Kills, $summary.Jobs, $summary.StepRuns, $summary.ReRuns,
    $summary.ReRunsAfterKillInBody, $summary.ReRunsAfterKillBeforeCommit, $summary.LeftForDrain)
Write-Host ("kills by reason: {0}" -f (($summary.KillsByReason.GetEnumerator() | ForEach-Object { "$($_.Key) $($_.Value)" }) -join ', '))
Write-Host ("kills by phase (activity/position): {0}" -f (($summary.KillsByPhase.GetEnumerator() | ForEach-Object { "$($_.Key) $($_.Value)" }) -join ', '))
if ($ResultFile) { $summary | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $ResultFile -Encoding utf8 }
if ($summary.Violations.Count -gt 0) {
    Write-Host "$($summary.Violations.Count) invariant violation(s); evidence kept in $runFolder"
    exit 1
}
if ($KeepEvidence) { Write-Host "evidence kept in $runFolder" }
else { Remove-Item -LiteralPath $runFolder -Recurse -Force -ErrorAction SilentlyContinue }
Write-Host 'all invariants hold'
exit 0

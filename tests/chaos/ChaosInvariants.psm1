# Reads what a chaos round left behind (the side-effect files, the kill list, the store) and checks the
# invariants of docs/reliability.md. Pure analysis: it never changes the store.

Set-StrictMode -Version Latest

$script:StepNames = @('one', 'two', 'three', 'four', 'five')

function Get-ChaosStepName { $script:StepNames }

# The right result of job number $Number (the workflow's outputs are a pure function of its input).
function Get-ChaosExpectedResult([long]$Number) {
    $value = $Number
    for ($i = 1; $i -lt $script:StepNames.Count; $i++) { $value = $value * 3 + $i }
    "chaos ${Number}: $($script:StepNames -join '>') = $value"
}

# Every line of every side-effect file: Ticks, Event, Subject (job id or job number), Step, Pid.
function Read-ChaosEffect([Parameter(Mandatory)][string]$Folder) {
    $lines = foreach ($file in Get-ChildItem -LiteralPath $Folder -Filter '*.log' -File) {
        foreach ($line in [IO.File]::ReadAllLines($file.FullName)) {
            $f = $line -split ' '
            # A kill can cut the very last line of a file short; such a line carries no complete fact.
            if ($f.Count -ne 5 -or $f[0] -notmatch '^\d+$' -or $f[4] -notmatch '^\d+$') { continue }
            [pscustomobject]@{ Ticks = [long]$f[0]; Event = $f[1]; Subject = $f[2]; Step = $f[3]; Pid = [int]$f[4] }
        }
    }
    @($lines | Sort-Object Ticks)
}

<#
    Where each kill landed, judged from the killed process's own (final) side-effect file:
    Activity: startup (module not loaded yet), start (inside Start-ArcpJob), resume (inside Resume-ArcpJob),
    idle (querying, claiming a number, between calls).
    Position: in-body (a step body had started and not ended), body-ended-uncommitted (the body ended and
    its checkpoint was never recorded: the step ran again later), committed (the body ended and its
    checkpoint was recorded), outside-step (no step of the current call had started yet).
#>
function Get-ChaosKillPhase {
    param([Parameter(Mandatory)][object[]]$Kills, [Parameter(Mandatory)][AllowEmptyCollection()][object[]]$Effects)
    $byPid = @{}
    foreach ($e in $Effects) {
        if (-not $byPid.ContainsKey($e.Pid)) { $byPid[$e.Pid] = [System.Collections.Generic.List[object]]::new() }
        $byPid[$e.Pid].Add($e)
    }
    foreach ($kill in $Kills) {
        $own = @(if ($byPid.ContainsKey($kill.Pid)) { $byPid[$kill.Pid] })
        $activity = 'startup'; $position = 'outside-step'
        if (@($own | Where-Object Event -EQ 'ready').Count -gt 0) {
            $lastActivity = @($own | Where-Object { $_.Event -notlike 'step-*' })[-1]
            $activity = switch ($lastActivity.Event) { 'resume-begin' { 'resume' } 'start-begin' { 'start' } default { 'idle' } }
            $lastStep = @($own | Where-Object { $_.Event -like 'step-*' } | Select-Object -Last 1)
            if ($activity -ne 'idle' -and $lastStep.Count -eq 1 -and $lastStep[0].Ticks -ge $lastActivity.Ticks) {
                $s = $lastStep[0]
                $position = if ($s.Event -eq 'step-start') { 'in-body' }
                else {
                    $again = @($Effects | Where-Object { $_.Event -eq 'step-start' -and $_.Subject -eq $s.Subject -and $_.Step -eq $s.Step -and $_.Ticks -gt $s.Ticks })
                    if ($again.Count -gt 0) { 'body-ended-uncommitted' } else { 'committed' }
                }
            }
        }
        [pscustomobject]@{ Pid = $kill.Pid; Reason = $kill.Reason; Activity = $activity; Position = $position; Phase = "$activity/$position" }
    }
}

<#
    The invariants. Returns Figures (step runs, re-runs) and Violations (strings; empty when all hold).
    $Jobs: Get-ArcpJob output; $Checkpoints: hashtable job id -> Get-ArcpCheckpoint output;
    $KilledPids: every pid the harness killed.
#>
function Test-ChaosInvariant {
    param(
        [Parameter(Mandatory)][int]$JobCount,
        [Parameter(Mandatory)][AllowEmptyCollection()][object[]]$Jobs,
        [Parameter(Mandatory)][hashtable]$Checkpoints,
        [Parameter(Mandatory)][AllowEmptyCollection()][object[]]$Effects,
        [Parameter(Mandatory)][AllowEmptyCollection()][int[]]$KilledPids
    )
    $violations = [System.Collections.Generic.List[string]]::new()
    $killed = [System.Collections.Generic.HashSet[int]]::new([int[]]$KilledPids)

    # Every job exists once, Completed, with the right result.
    $byName = @{}
    foreach ($j in $Jobs) {
        if (-not $byName.ContainsKey([string]$j.Name)) { $byName[[string]$j.Name] = [System.Collections.Generic.List[object]]::new() }
        $byName[[string]$j.Name].Add($j)
    }
    foreach ($n in 1..$JobCount) {
        $found = @(if ($byName.ContainsKey("chaos-$n")) { $byName["chaos-$n"] })
        if ($found.Count -ne 1) { $violations.Add("job chaos-${n}: $($found.Count) jobs in the store (expected exactly 1)"); continue }
        $job = $found[0]
        if ("$($job.State)" -ne 'Completed') { $violations.Add("job chaos-$n ($($job.JobId)): state $($job.State) (expected Completed); error: $($job.Error)") }
        elseif ([string]$job.Result -ne (Get-ChaosExpectedResult $n)) { $violations.Add("job chaos-$n ($($job.JobId)): result '$($job.Result)' (expected '$(Get-ChaosExpectedResult $n)')") }
    }
    if ($Jobs.Count -ne $JobCount) { $violations.Add("the store holds $($Jobs.Count) jobs (expected $JobCount)") }

    # Checkpoints exactly once per step, in order.
    foreach ($job in $Jobs) {
        $cps = @($Checkpoints[[string]$job.JobId])
        $steps = @($cps | ForEach-Object { [string]$_.Step })
        $indexes = @($cps | ForEach-Object { [int]$_.StepIndex })
        if (($steps -join ',') -ne ($script:StepNames -join ',') -or ($indexes -join ',') -ne '0,1,2,3,4') {
            $violations.Add("job $($job.Name) ($($job.JobId)): checkpoints [$(($cps | ForEach-Object { "$($_.StepIndex):$($_.Step)" }) -join ', ')] (expected one per step, in order)")
        }
    }

    # Step runs from the side-effect files.
    $starts = @($Effects | Where-Object Event -EQ 'step-start')
    $ends = @($Effects | Where-Object Event -EQ 'step-end')
    $endKeys = [System.Collections.Generic.HashSet[string]]::new()
    foreach ($e in $ends) { $null = $endKeys.Add("$($e.Subject) $($e.Step) $($e.Pid)") }
    $rerunsInBody = 0; $rerunsAfterBody = 0
    $startsByJob = @{}
    foreach ($group in ($starts | Group-Object Subject)) { $startsByJob[$group.Name] = @($group.Group | Sort-Object Ticks) }
    foreach ($jobId in @(@($Jobs | ForEach-Object { [string]$_.JobId }) + @($startsByJob.Keys) | Sort-Object -Unique)) {
        $jobStarts = @(if ($startsByJob.ContainsKey($jobId)) { $startsByJob[$jobId] })
        for ($i = 0; $i -lt $script:StepNames.Count; $i++) {
            $step = $script:StepNames[$i]
            $runs = @($jobStarts | Where-Object Step -EQ $step)
            if ($runs.Count -eq 0) { $violations.Add("job ${jobId}: step $step never started"); continue }
            if (-not $endKeys.Contains("$jobId $step $($runs[-1].Pid)")) { $violations.Add("job ${jobId}: the last run of step $step (process $($runs[-1].Pid)) never ended") }
            # A recorded checkpoint is never ignored: no body of this step starts after its successor started.
            if ($i + 1 -lt $script:StepNames.Count) {
                $successor = @($jobStarts | Where-Object Step -EQ $script:StepNames[$i + 1])
                if ($successor.Count -gt 0) {
                    $late = @($runs | Where-Object Ticks -GT $successor[0].Ticks)
                    if ($late.Count -gt 0) { $violations.Add("job ${jobId}: step $step started again (process $($late[0].Pid)) after step $($script:StepNames[$i + 1]) had started (process $($successor[0].Pid))") }
                }
            }
            # Re-runs only of interrupted steps: every run but the last was cut off by a kill of its process
            # before the step's checkpoint was recorded (that process went no further in this job).
            for ($r = 0; $r -lt $runs.Count - 1; $r++) {
                $run = $runs[$r]
                $further = @($jobStarts | Where-Object { $_.Pid -eq $run.Pid -and $_.Ticks -gt $run.Ticks })
                if (-not $killed.Contains($run.Pid)) {
                    $violations.Add("job ${jobId}: step $step ran again although process $($run.Pid), which ran it before, was never killed")
                }
                elseif ($further.Count -gt 0) {
                    $violations.Add("job ${jobId}: step $step ran again although process $($run.Pid) had gone on to step $($further[0].Step) (its checkpoint was recorded)")
                }
                elseif ($endKeys.Contains("$jobId $step $($run.Pid)")) { $rerunsAfterBody++ }
                else { $rerunsInBody++ }
            }
        }
    }
    [pscustomobject]@{
        StepRuns            = $starts.Count
        ReRuns              = $rerunsInBody + $rerunsAfterBody
        ReRunsAfterKillInBody       = $rerunsInBody
        ReRunsAfterKillBeforeCommit = $rerunsAfterBody
        Violations          = $violations.ToArray()
    }
}

Export-ModuleMember -Function Get-ChaosStepName, Get-ChaosExpectedResult, Read-ChaosEffect, Get-ChaosKillPhase, Test-ChaosInvariant

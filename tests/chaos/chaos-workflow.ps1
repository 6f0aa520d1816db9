# The five-step workflow of the chaos harness (tests/chaos/Invoke-ChaosRun.ps1). Every step body appends
# "<utc ticks> step-start|step-end <job id> <step> <pid>" lines to its process's own side-effect file
# ($env:ARCP_CHAOS_EFFECTS/<pid>.log: one writer per file, so lines never interleave) and sleeps a random
# 10-$env:ARCP_CHAOS_STEP_MS (default 150) milliseconds in between, so kills land inside bodies. The
# outputs are a pure function of the job input, so the harness knows every job's right result.
$body = {
    param($Previous)
    $effects = $env:ARCP_CHAOS_EFFECTS
    $record = {
        param([string]$What)
        if ($effects) {
            [IO.File]::AppendAllText((Join-Path $effects "$PID.log"), "$([DateTime]::UtcNow.Ticks) $What $($ArcpStep.JobId) $($ArcpStep.Step) $PID`n")
        }
    }
    & $record 'step-start'
    $longest = if ($env:ARCP_CHAOS_STEP_MS) { [int]$env:ARCP_CHAOS_STEP_MS } else { 150 }
    Start-Sleep -Milliseconds (Get-Random -Minimum 10 -Maximum ([Math]::Max(11, $longest)))
    # The first step gets the job input (a number); later ones the previous step's output.
    $number = if ($Previous -is [ValueType] -or $Previous -is [string]) { [long]$Previous } else { [long]$Previous.Number }
    $trail = @(if ($Previous -isnot [ValueType] -and $Previous -isnot [string]) { $Previous.Trail })
    $output = @{
        Number = $number
        Value  = if ($trail.Count -eq 0) { $number } else { [long]$Previous.Value * 3 + $trail.Count }
        Trail  = [string[]]($trail + $ArcpStep.Step)
    }
    & $record 'step-end'
    if ($ArcpStep.Step -eq 'five') { return "chaos $($output.Number): $($output.Trail -join '>') = $($output.Value)" }
    $output
}

@{
    Name  = 'chaos'
    Steps = [ordered]@{
        one   = $body
        two   = $body
        three = $body
        four  = $body
        five  = $body
    }
}

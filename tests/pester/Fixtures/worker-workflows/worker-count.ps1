<#
    Three steps for worker tests. Each body writes "<step> <job id> <pid> <start ticks> <end ticks>" to a new file
    in the folder $env:ARCP_TEST_COUNTER (one file per run: concurrent writers never interleave) when it finishes, after sleeping $env:ARCP_TEST_STEP_MS milliseconds (default 200).
    With ARCP_TEST_KILL_IN_STEP / ARCP_TEST_KILL_MARKER set, that step kills its own process (SIGKILL) once,
    the first time it runs (the marker file remembers), before finishing.
    With ARCP_TEST_LOADS set (a folder), each time this file is loaded (run) it writes a new file there: the slots of
    one worker load it at the same moment, and appends to one shared file could collide.
#>
if ($env:ARCP_TEST_LOADS) { [IO.File]::WriteAllText((Join-Path $env:ARCP_TEST_LOADS "$PID-$([guid]::NewGuid().ToString('N'))"), '') }
$make = {
    param([string]$Name)
    {
        param($Previous)
        $started = [DateTime]::UtcNow.Ticks
        $sleep = if ($env:ARCP_TEST_STEP_MS) { [int]$env:ARCP_TEST_STEP_MS } else { 200 }
        if ($env:ARCP_TEST_KILL_IN_STEP -eq $Name -and -not (Test-Path -LiteralPath $env:ARCP_TEST_KILL_MARKER)) {
            [IO.File]::WriteAllText($env:ARCP_TEST_KILL_MARKER, "killed in $Name by $PID")
            [System.Diagnostics.Process]::GetCurrentProcess().Kill()
        }
        Start-Sleep -Milliseconds $sleep
        $line = "$Name $($ArcpStep.JobId) $PID $started $([DateTime]::UtcNow.Ticks)"
        [IO.File]::WriteAllText((Join-Path $env:ARCP_TEST_COUNTER "$Name-$($ArcpStep.JobId)-$([guid]::NewGuid().ToString('N'))"), $line)
        [int]$Previous + 1
    }.GetNewClosure()
}
@{
    Name  = 'worker-count'
    Steps = [ordered]@{
        one   = & $make 'one'
        two   = & $make 'two'
        three = & $make 'three'
    }
}

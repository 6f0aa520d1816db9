# A three-step workflow for the multi-process tests. Every step body run is logged to
# $env:ARCP_TEST_STEP_LOG as "<job id> <step> <pid>" so a test can count executions. The step named in
# $env:ARCP_TEST_SLOW_STEP sleeps $env:ARCP_TEST_SLOW_MS milliseconds, or, with $env:ARCP_TEST_WAIT_FOR
# set, waits (at most a minute) until a file matching that wildcard path exists.
$body = {
    if ($env:ARCP_TEST_STEP_LOG) {
        [IO.File]::AppendAllText($env:ARCP_TEST_STEP_LOG, "$($ArcpStep.JobId) $($ArcpStep.Step) $PID`n")
    }
    if ($env:ARCP_TEST_SLOW_STEP -eq $ArcpStep.Step -and $env:ARCP_TEST_WAIT_FOR) {
        $deadline = [DateTime]::UtcNow.AddMinutes(1)
        while (-not (Test-Path -Path $env:ARCP_TEST_WAIT_FOR)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Nothing matched $env:ARCP_TEST_WAIT_FOR within a minute." }
            Start-Sleep -Milliseconds 20
        }
    }
    elseif ($env:ARCP_TEST_SLOW_STEP -eq $ArcpStep.Step) {
        Start-Sleep -Milliseconds ([int]$env:ARCP_TEST_SLOW_MS)
    }
    "$($ArcpStep.Step) done"
}

@{
    Name  = 'fleet'
    Steps = [ordered]@{
        one   = $body
        two   = $body
        three = $body
    }
}

# A three-step workflow for the multi-process tests. Every step body run is logged to
# $env:ARCP_TEST_STEP_LOG as "<job id> <step> <pid>" so a test can count executions; the step named in
# $env:ARCP_TEST_SLOW_STEP sleeps $env:ARCP_TEST_SLOW_MS milliseconds.
$body = {
    if ($env:ARCP_TEST_STEP_LOG) {
        [IO.File]::AppendAllText($env:ARCP_TEST_STEP_LOG, "$($ArcpStep.JobId) $($ArcpStep.Step) $PID`n")
    }
    if ($env:ARCP_TEST_SLOW_STEP -eq $ArcpStep.Step) {
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

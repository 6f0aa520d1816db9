<#
    Four deterministic inline steps (one, two, three, four) for -Step jobs, returned as an ordered
    dictionary. Each body appends "<step> <pid> <$ArcpStep.IdempotencyKey>" to $env:ARCP_TEST_COUNTER.
    With ARCP_TEST_KILL_IN_STEP / ARCP_TEST_KILL_MARKER set, that step's body kills its own process
    (SIGKILL) after counting, unless the marker file exists (it creates the marker first).
    The job input is a number n; step k returns n * 10 + k as a small object, so every output depends
    only on the input.
#>
$make = {
    param([string]$Name, [int]$Digit)
    {
        param($Previous)
        [IO.File]::AppendAllText($env:ARCP_TEST_COUNTER, "$Name $PID $($ArcpStep.IdempotencyKey)`n")
        if ($env:ARCP_TEST_KILL_IN_STEP -eq $Name -and -not (Test-Path -LiteralPath $env:ARCP_TEST_KILL_MARKER)) {
            [IO.File]::WriteAllText($env:ARCP_TEST_KILL_MARKER, "killed in $Name by $PID")
            [System.Diagnostics.Process]::GetCurrentProcess().Kill()
        }
        $n = if ($null -ne $Previous -and $Previous.PSObject.Properties['Value']) { [long]$Previous.Value } else { [long]$Previous }
        [pscustomobject]@{ Step = $Name; Value = $n * 10 + $Digit }
    }.GetNewClosure()
}
[ordered]@{
    one   = & $make 'one' 1
    two   = & $make 'two' 2
    three = & $make 'three' 3
    four  = & $make 'four' 4
}

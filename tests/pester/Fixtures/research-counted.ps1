<#
    The built-in research workflow (loaded from the module under test, $env:ARCP_MODULE_PATH), with each
    step body wrapped so that every run of it is visible across processes:

      * ARCP_TEST_COUNTER     file that gets one line "<step> <pid>" appended each time a body starts.
      * ARCP_TEST_KILL_IN_STEP / ARCP_TEST_KILL_MARKER (optional): the body of that step kills its own
        process (SIGKILL, no cleanup) after counting, unless the marker file exists; it creates the marker
        first, so only the first attempt dies.

    The workflow is named 'research-counted' (the name recorded for the job); resume it with -Workflow
    and this file's path.
#>
$research = & (Join-Path (Split-Path -Parent $env:ARCP_MODULE_PATH) 'Workflows/research.ps1')
$steps = [ordered]@{}
foreach ($entry in $research.Steps.GetEnumerator()) {
    $name = [string]$entry.Key
    $body = $entry.Value
    $steps[$name] = {
        param($Previous)
        if (-not $env:ARCP_TEST_COUNTER) { throw 'ARCP_TEST_COUNTER is not set.' }
        [IO.File]::AppendAllText($env:ARCP_TEST_COUNTER, "$name $PID`n")
        if ($env:ARCP_TEST_KILL_IN_STEP -eq $name -and -not (Test-Path -LiteralPath $env:ARCP_TEST_KILL_MARKER)) {
            [IO.File]::WriteAllText($env:ARCP_TEST_KILL_MARKER, "killed in $name by $PID")
            [System.Diagnostics.Process]::GetCurrentProcess().Kill()
        }
        & $body $Previous
    }.GetNewClosure()
}

@{ Name = 'research-counted'; Version = $research.Version; Steps = $steps }

<#
.SYNOPSIS
    Child-process Pester runner used by build.ps1 (task 'test').

.DESCRIPTION
    Runs in its own pwsh process so that the module DLL it imports (a loaded assembly cannot be
    unloaded) never ends up in the build's session. Writes a JSON summary to -ResultFile:

        { "passed": n, "failed": n, "skipped": n, "notRun": n, "inconclusive": n,
          "failedTests": [ { "name": "...", "message": "..." } ] }

    "failed" includes failed blocks (e.g. a BeforeAll that throws) and failed containers (e.g. a
    file that does not parse), exactly like Pester's own summary does.
    Exits 0 once the file is written, whatever the test outcome (build.ps1 decides); exits 1
    without writing the file if Pester itself cannot run.

    The published module's manifest path is expected in $env:ARCP_MODULE_PATH (set by build.ps1).

.PARAMETER TestPath
    Files or folders to run. Because pwsh -File passes every argument as one string, several
    paths can be given in one argument separated by the platform path separator
    ([IO.Path]::PathSeparator: ':' on Linux/macOS, ';' on Windows).
#>
param(
    [Parameter(Mandatory)][string]$PesterModule,
    [string[]]$TestPath = @('tests/pester'),
    [Parameter(Mandatory)][string]$ResultFile
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# No ANSI escapes in CI logs (error records are otherwise rendered in colour even when redirected).
if ($env:CI -or [Console]::IsOutputRedirected -or [Console]::IsErrorRedirected) { $PSStyle.OutputRendering = 'PlainText' }

function Get-ErrorText {
    param($ErrorRecords)
    $lines = foreach ($er in @($ErrorRecords)) {
        if ($null -eq $er) { continue }
        $text = if ($er.PSObject.Properties['DisplayErrorMessage'] -and $er.DisplayErrorMessage) {
            [string]$er.DisplayErrorMessage
        }
        elseif ($er.Exception) { $er.Exception.Message } else { [string]$er }
        $where = $null
        if ($er.PSObject.Properties['DisplayStackTrace'] -and $er.DisplayStackTrace) {
            $where = ([string]$er.DisplayStackTrace -split "`r?`n" | Where-Object { $_ } | Select-Object -First 1)
        }
        if ($where) { "$text ($where)" } else { $text }
    }
    ($lines -join [Environment]::NewLine)
}

try {
    $paths = @($TestPath | ForEach-Object { $_ -split [regex]::Escape([IO.Path]::PathSeparator) } | Where-Object { $_ })
    foreach ($p in $paths) {
        if (-not (Test-Path -LiteralPath $p)) { throw "Pester test path not found: $p" }
    }

    Import-Module -Name $PesterModule -Force -ErrorAction Stop
    $loaded = Get-Module -Name Pester
    Write-Host "Pester $($loaded.Version) from $($loaded.ModuleBase); module under test: $env:ARCP_MODULE_PATH"

    $config = New-PesterConfiguration
    $config.Run.Path = [string[]]$paths
    $config.Run.PassThru = $true
    $config.Run.Exit = $false
    $config.Run.Throw = $false
    $config.Output.Verbosity = 'Detailed'
    $config.Output.RenderMode = 'Plaintext'
    # No NUnit XML: Pester's writer throws on a control character in a failure message (a child process's
    # coloured error text), which would turn one failing test into a run with no result at all.
    $config.TestResult.Enabled = $false

    $run = Invoke-Pester -Configuration $config
    if ($null -eq $run) { throw 'Invoke-Pester returned no result object.' }

    $failedTests = [System.Collections.Generic.List[object]]::new()
    foreach ($t in @($run.Failed)) {
        $message = Get-ErrorText $t.ErrorRecord
        if (-not $message) { $message = 'did not run: a BeforeAll/AfterAll of an enclosing block failed (see the [block] failure)' }
        $failedTests.Add([ordered]@{ name = [string]$t.ExpandedPath; message = $message })
    }
    foreach ($b in @($run.FailedBlocks)) {
        $failedTests.Add([ordered]@{ name = "[block] $($b.Path -join '.')"; message = (Get-ErrorText $b.ErrorRecord) })
    }
    foreach ($c in @($run.FailedContainers)) {
        $failedTests.Add([ordered]@{ name = "[container] $($c.Item)"; message = (Get-ErrorText $c.ErrorRecord) })
    }

    $summary = [ordered]@{
        passed       = [int]$run.PassedCount
        failed       = [int]($run.FailedCount + $run.FailedBlocksCount + $run.FailedContainersCount)
        skipped      = [int]$run.SkippedCount
        notRun       = [int]$run.NotRunCount
        inconclusive = [int]$run.InconclusiveCount
        failedTests  = @($failedTests)
    }

    $resultDir = Split-Path -Parent $ResultFile
    if ($resultDir) { $null = New-Item -ItemType Directory -Force -Path $resultDir }
    ConvertTo-Json -InputObject $summary -Depth 5 | Set-Content -LiteralPath $ResultFile -Encoding utf8NoBOM
}
catch {
    [Console]::Error.WriteLine("run-pester.ps1: Pester could not run: $($_.Exception.Message)")
    [Console]::Error.WriteLine($_.ScriptStackTrace)
    exit 1
}
exit 0

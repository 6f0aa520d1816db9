# Every ARCP code each cmdlet emits, provoked for real, with the recommendation that goes with it: one row per
# code × cmdlet pair. A row fails when the advice does not fit the error (a workflow typo told to check a job id, a
# failed job told to resume, a deadline told only "see the message").

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ArcpModulePath)

    $script:Folder = New-TestFolder
    $script:Store = Join-Path $script:Folder 'arcp.db'
    $script:Unknown = 'job_01J00000000000000000000000'

    $script:Completed = Start-ArcpJob -Store $script:Store -Name done -Step ([ordered]@{ only = { 'done' } })
    $script:Failed = Start-ArcpJob -Store $script:Store -Name broken -Step ([ordered]@{ first = { 1 }; boom = { throw 'kaboom' } }) -ErrorAction SilentlyContinue

    # A job stopped mid-step (Stop-Job leaves the ARCP job interrupted) and one whose owner is alive, gated on a file.
    $script:Gate = Join-Path $script:Folder 'gate'
    $gated = [ordered]@{ wait = [scriptblock]::Create("while (-not (Test-Path -LiteralPath '$script:Gate')) { Start-Sleep -Milliseconds 50 }; 'released'") }
    $stopped = Start-ArcpJob -Store $script:Store -Name stopped -Step $gated -AsJob
    $script:Live = Start-ArcpJob -Store $script:Store -Name live -Step $gated -AsJob
    $clock = [Diagnostics.Stopwatch]::StartNew()
    while ((-not $stopped.ArcpJobId -or -not $script:Live.ArcpJobId) -and $clock.Elapsed.TotalSeconds -lt 60) { Start-Sleep -Milliseconds 50 }
    $stopped | Stop-Job
    $script:InterruptedId = $stopped.ArcpJobId
    $script:LiveId = $script:Live.ArcpJobId

    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start()
    $script:ClosedPort = $listener.LocalEndpoint.Port
    $listener.Stop()

    # The category each code maps to (ArcpErrors): the table checks it for every pair.
    $script:Categories = @{
        NOT_FOUND = 'ObjectNotFound'; INVALID_ARGUMENT = 'InvalidArgument'; FAILED_PRECONDITION = 'InvalidOperation'
        ABORTED = 'ResourceBusy'; DEADLINE_EXCEEDED = 'OperationTimeout'; UNAVAILABLE = 'ConnectionError'; UNKNOWN = 'NotSpecified'
    }

    # The one ErrorRecord a command reports, written or thrown (it must report exactly one).
    function Get-OnlyError([scriptblock]$Command) {
        $ErrorActionPreference = 'Continue'
        $errors = try { @(& $Command 2>&1 | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }) } catch { @($_) }
        $errors | Should -HaveCount 1 -Because 'the command reports exactly one error'
        $errors[0]
    }
}

AfterAll {
    if ($script:Gate) { Set-Content -LiteralPath $script:Gate -Value go -ErrorAction SilentlyContinue }
    Get-Job | Where-Object PSJobTypeName -EQ 'ArcpJob' | Wait-Job -Timeout 30 | Remove-Job -Force
    Get-Job | Where-Object PSJobTypeName -EQ 'ArcpJob' | Remove-Job -Force
    Remove-TestFolder
}

Describe 'The jobs the table provokes errors from' {
    It 'holds a completed, a failed, an interrupted and a live job' {
        $script:Completed.State | Should -Be 'Completed'
        $script:Failed.State | Should -Be 'Failed'
        (Get-ArcpJob -Store $script:Store -JobId $script:InterruptedId).State | Should -Be 'Interrupted'
        (Get-ArcpJob -Store $script:Store -JobId $script:LiveId).State | Should -Be 'Running'
    }
}

Describe 'Recommendation for each code × cmdlet pair' {
    It '<Code> from <Cmdlet> (<Case>)' -ForEach @(
        @{ Cmdlet = 'Get-ArcpJob'; Code = 'NOT_FOUND'; Case = 'store path typo'; Fits = '-Store path'; Misleads = 'Check the id'
            Run = { Get-ArcpJob -Store (Join-Path $script:Folder 'typo/arcp.db') } }
        @{ Cmdlet = 'Get-ArcpJob'; Code = 'NOT_FOUND'; Case = 'unknown job id'; Fits = 'Check the id with Get-ArcpJob'; Misleads = 'never create'
            Run = { Get-ArcpJob -Store $script:Store -JobId $script:Unknown } }
        @{ Cmdlet = 'Get-ArcpJob'; Code = 'UNAVAILABLE'; Case = 'store is a folder'; Fits = 'reachable'; Misleads = 'Check the id'
            Run = { Get-ArcpJob -Store $script:Folder } }
        @{ Cmdlet = 'Get-ArcpCheckpoint'; Code = 'NOT_FOUND'; Case = 'unknown job id'; Fits = 'Check the id'; Misleads = 'Resume-ArcpJob'
            Run = { Get-ArcpCheckpoint -Store $script:Store -JobId $script:Unknown } }
        @{ Cmdlet = 'Get-ArcpCheckpoint'; Code = 'INVALID_ARGUMENT'; Case = 'several stores'; Fits = 'Correct the argument'; Misleads = 'Check the id'
            Run = { Get-ArcpCheckpoint -Store $script:Store, $script:Store -JobId $script:Completed.JobId } }
        @{ Cmdlet = 'Get-ArcpEvent'; Code = 'NOT_FOUND'; Case = 'unknown job id'; Fits = 'Check the id'; Misleads = 'Resume-ArcpJob'
            Run = { Get-ArcpEvent -Store $script:Store -JobId $script:Unknown } }
        @{ Cmdlet = 'Start-ArcpJob'; Code = 'NOT_FOUND'; Case = 'workflow name typo'; Fits = '-Workflow name'; Misleads = 'Get-ArcpJob'
            Run = { Start-ArcpJob -Store $script:Store -Workflow reserch } }
        @{ Cmdlet = 'Start-ArcpJob'; Code = 'INVALID_ARGUMENT'; Case = 'a step that is not a script block'; Fits = 'nothing was recorded'; Misleads = 'Resume-ArcpJob'
            Run = { Start-ArcpJob -Store $script:Store -Step ([ordered]@{ one = 'not a script block' }) } }
        @{ Cmdlet = 'Start-ArcpJob'; Code = 'UNKNOWN'; Case = 'a step throws'; Fits = 'Resume-ArcpJob -Retry'; Misleads = 'nothing was recorded'
            Run = { Start-ArcpJob -Store $script:Store -Step ([ordered]@{ boom = { throw 'again' } }) } }
        @{ Cmdlet = 'Resume-ArcpJob'; Code = 'NOT_FOUND'; Case = 'unknown job id'; Fits = 'Check the id'; Misleads = '-Force'
            Run = { Resume-ArcpJob -Store $script:Store -JobId $script:Unknown } }
        @{ Cmdlet = 'Resume-ArcpJob'; Code = 'FAILED_PRECONDITION'; Case = 'another workflow than the job''s'; Fits = 'Resume-ArcpJob -Force'; Misleads = 'nothing was recorded'
            Run = { Resume-ArcpJob -Store $script:Store -JobId $script:InterruptedId -Workflow research } }
        @{ Cmdlet = 'Resume-ArcpJob'; Code = 'FAILED_PRECONDITION'; Case = '-Retry of a completed job'; Fits = 'Get-ArcpJob'; Misleads = 'nothing was recorded'
            Run = { Resume-ArcpJob -Store $script:Store -JobId $script:Completed.JobId -Retry } }
        @{ Cmdlet = 'Resume-ArcpJob'; Code = 'ABORTED'; Case = 'another process drives the job'; Fits = 'Another process drives this job'; Misleads = 'Check the id'
            Run = { Resume-ArcpJob -Store $script:Store -JobId $script:LiveId } }
        @{ Cmdlet = 'Wait-ArcpJob'; Code = 'NOT_FOUND'; Case = 'unknown job id'; Fits = 'Check the id'; Misleads = '-Timeout'
            Run = { Wait-ArcpJob -Store $script:Store -JobId $script:Unknown -Timeout 5 } }
        @{ Cmdlet = 'Wait-ArcpJob'; Code = 'FAILED_PRECONDITION'; Case = 'nobody drives the job'; Fits = 'Resume-ArcpJob -JobId job_'; Misleads = 'nothing was recorded'
            Run = { Wait-ArcpJob -Store $script:Store -JobId $script:InterruptedId -Timeout 30 } }
        @{ Cmdlet = 'Wait-ArcpJob'; Code = 'DEADLINE_EXCEEDED'; Case = 'the job outlives -Timeout'; Fits = '-Timeout'; Misleads = 'See the error message'
            Run = { Wait-ArcpJob -Store $script:Store -JobId $script:LiveId -Timeout 1 } }
        @{ Cmdlet = 'Receive-ArcpJob'; Code = 'NOT_FOUND'; Case = 'unknown job id'; Fits = 'Check the id'; Misleads = '-Timeout'
            Run = { Receive-ArcpJob -Store $script:Store -JobId $script:Unknown } }
        @{ Cmdlet = 'Show-ArcpJob'; Code = 'NOT_FOUND'; Case = 'unknown job id'; Fits = 'Check the id'; Misleads = '-Timeout'
            Run = { Show-ArcpJob -Store $script:Store -JobId $script:Unknown } }
        @{ Cmdlet = 'Stop-ArcpJob'; Code = 'NOT_FOUND'; Case = 'unknown job id'; Fits = 'Check the id'; Misleads = 'Resume-ArcpJob'
            Run = { Stop-ArcpJob -Store $script:Store -JobId $script:Unknown -Confirm:$false } }
        @{ Cmdlet = 'Remove-ArcpJob'; Code = 'NOT_FOUND'; Case = 'unknown job id'; Fits = 'Check the id'; Misleads = 'Resume-ArcpJob'
            Run = { Remove-ArcpJob -Store $script:Store -JobId $script:Unknown -Confirm:$false } }
        @{ Cmdlet = 'Invoke-ArcpRetention'; Code = 'NOT_FOUND'; Case = 'store path typo'; Fits = '-Store path'; Misleads = 'Check the id'
            Run = { Invoke-ArcpRetention -Store (Join-Path $script:Folder 'typo/arcp.db') -EventAge 1 -Confirm:$false } }
        @{ Cmdlet = 'Get-ArcpSchedule'; Code = 'NOT_FOUND'; Case = 'store path typo'; Fits = '-Store path'; Misleads = 'Check the id'
            Run = { Get-ArcpSchedule -Store (Join-Path $script:Folder 'typo/arcp.db') } }
        @{ Cmdlet = 'Register-ArcpSchedule'; Code = 'INVALID_ARGUMENT'; Case = 'a bad cron expression'; Fits = 'Correct the argument'; Misleads = 'Check the id'
            Run = { Register-ArcpSchedule -Store $script:Store -Name bad -Cron '61 * * * *' -Workflow research } }
        @{ Cmdlet = 'Unregister-ArcpSchedule'; Code = 'NOT_FOUND'; Case = 'unknown schedule name'; Fits = 'Get-ArcpSchedule'; Misleads = 'Get-ArcpCheckpoint'
            Run = { Unregister-ArcpSchedule -Store $script:Store -Name no-such-schedule -Confirm:$false } }
        @{ Cmdlet = 'Start-ArcpRuntime'; Code = 'INVALID_ARGUMENT'; Case = '-NoQuota with a quota'; Fits = 'Correct the argument'; Misleads = 'Check the id'
            Run = { Start-ArcpRuntime -Listen ws://127.0.0.1:0/arcp -AllowAnonymous -Store (Join-Path $script:Folder 'runtime.db') -NoQuota -MaxMessagesPerSecond 5 } }
        @{ Cmdlet = 'Connect-ArcpRuntime'; Code = 'UNAVAILABLE'; Case = 'nothing listens at the address'; Fits = 'reachable'; Misleads = 'Check the id'
            Run = { Connect-ArcpRuntime -Runtime "ws://127.0.0.1:$script:ClosedPort/arcp" } }
    ) {
        $record = Get-OnlyError $Run
        $record.FullyQualifiedErrorId | Should -BeLike "$Code,*"
        $record.FullyQualifiedErrorId | Should -BeLike "*$($Cmdlet -replace '-')Command"
        "$($record.CategoryInfo.Category)" | Should -Be $script:Categories[$Code]
        $record.ErrorDetails.RecommendedAction | Should -BeLike "*$Fits*"
        $record.ErrorDetails.RecommendedAction | Should -Not -BeLike "*$Misleads*"
    }
}

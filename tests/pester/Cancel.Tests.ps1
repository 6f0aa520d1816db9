# §10.4 cancel through Stop-ArcpJob: interrupted jobs are cancelled by the runtime, running ones (driven by
# another process) stop at a clean checkpoint, -WhatIf changes nothing.

BeforeAll {
    if (-not $env:ARCP_MODULE_PATH) { throw 'ARCP_MODULE_PATH is not set; run the tests through ./build.ps1 test.' }
    Import-Module $env:ARCP_MODULE_PATH -Force
    . (Join-Path $PSScriptRoot 'Support/ChildProcess.ps1')
    $script:StoreDir = Join-Path ([IO.Path]::GetTempPath()) "arcp-cancel-$([guid]::NewGuid().ToString('n'))"
    $null = New-Item -ItemType Directory -Path $script:StoreDir
    $script:Store = Join-Path $script:StoreDir 'arcp.db'

    # An interrupted job without the cost of a crashing child process: -OnCheckpoint throws after the first
    # checkpoint, the session ends without a terminal event and releases the lease, as a dead process would.
    function New-InterruptedJob([string]$Name) {
        try { Start-ArcpJob -Store $script:Store -Name $Name -Step ([ordered]@{ one = { 1 }; two = { 2 } }) -OnCheckpoint { throw 'simulated crash' } } catch { $null = $_ }
        Get-ArcpJob -Store $script:Store -Name $Name
    }
}

AfterAll {
    Remove-Module Arcp.Resumability -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $script:StoreDir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Stop-ArcpJob' {
    It 'changes nothing with -WhatIf' {
        $job = New-InterruptedJob 'nightly-whatif'
        $done = Start-ArcpJob -Store $script:Store -Name 'nightly-done' -Step ([ordered]@{ a = { 1 } })
        $before = @(Get-ArcpJob -Store $script:Store -Name nightly* | ForEach-Object { "$($_.JobId) $($_.State) $($_.LastMessageId)" })
        $eventsBefore = @(Get-ArcpEvent -Store $script:Store -JobId $job.JobId).Count

        Get-ArcpJob -Store $script:Store -Name nightly* | Stop-ArcpJob -WhatIf

        @(Get-ArcpJob -Store $script:Store -Name nightly* | ForEach-Object { "$($_.JobId) $($_.State) $($_.LastMessageId)" }) | Should -Be $before
        @(Get-ArcpEvent -Store $script:Store -JobId $job.JobId).Count | Should -Be $eventsBefore
        (Get-ArcpJob -Store $script:Store -JobId $job.JobId).State | Should -Be 'Interrupted'
        $done.State | Should -Be 'Completed'
    }

    It 'cancels an interrupted job at once, keeping its checkpoints' {
        $job = New-InterruptedJob 'orphan'
        $stopped = $job | Stop-ArcpJob -Reason 'no longer needed' -PassThru -Confirm:$false
        $stopped.State | Should -Be 'Cancelled'
        $stopped.Error.Code | Should -Be 'CANCELLED'
        $stopped.Error.Message | Should -Match 'no longer needed'
        @(Get-ArcpCheckpoint -Store $script:Store -JobId $job.JobId).Step | Should -Be @('one')
        $events = @(Get-ArcpEvent -Store $script:Store -JobId $job.JobId)
        $events[-2].Type | Should -Be 'cancel'
        $events[-2].Payload.target_id | Should -Be $job.JobId
        $events[-1].Type | Should -Be 'job.cancelled'
    }

    It 'refuses to resume a cancelled job' {
        $job = New-InterruptedJob 'cancelled-then-resumed'
        $job | Stop-ArcpJob -Confirm:$false
        $resumed = Resume-ArcpJob -Store $script:Store -JobId $job.JobId -Step ([ordered]@{ one = { 1 }; two = { 2 } }) -WarningVariable warned -WarningAction SilentlyContinue
        $resumed.State | Should -Be 'Cancelled'
        "$warned" | Should -Match 'already Cancelled'
        @(Get-ArcpCheckpoint -Store $script:Store -JobId $job.JobId).Count | Should -Be 1
    }

    It 'does nothing to a finished job' {
        $done = Start-ArcpJob -Store $script:Store -Step ([ordered]@{ a = { 1 } })
        $out = $done | Stop-ArcpJob -PassThru -Confirm:$false -ErrorVariable err
        $err.Count | Should -Be 0
        $out.State | Should -Be 'Completed'
    }

    It 'reports an unknown job as NOT_FOUND' {
        Stop-ArcpJob -Store $script:Store -JobId job_missing -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NOT_FOUND,*'
        $err[0].TargetObject | Should -Be 'job_missing'
    }

    It 'stops a job another process is running at a clean checkpoint' {
        $marker = Join-Path $script:StoreDir 'running.marker'
        $child = Start-ChildPwsh $script:StoreDir @"
`$steps = [ordered]@{}
foreach (`$i in 1..40) { `$steps["s`$i"] = { Start-Sleep -Milliseconds 150; `$ArcpStep.ReportProgress(50, 'half'); Start-Sleep -Milliseconds 150; `$ArcpStep.StepIndex } }
`$job = Start-ArcpJob -Store '$script:Store' -Name running -Step `$steps -OnCheckpoint { if (-not (Test-Path '$marker')) { Set-Content '$marker' `$_.JobId } } -WarningAction SilentlyContinue
"child: `$(`$job.State)"
"@
        try {
            $id = Wait-ForFile $marker
            (Get-ArcpJob -Store $script:Store -JobId $id).State | Should -Be 'Running'

            $stopped = Stop-ArcpJob -Store $script:Store -JobId $id -Reason 'operator' -PassThru -Confirm:$false -DeadlineSeconds 30
            $stopped.State | Should -Be 'Cancelled'
            $child.WaitForExit(30000) | Should -BeTrue
        }
        finally {
            if (-not $child.HasExited) { $child.Kill() }
        }

        $checkpoints = @(Get-ArcpCheckpoint -Store $script:Store -JobId $id)
        $checkpoints.Count | Should -BeLessThan 40
        $checkpoints.Count | Should -BeGreaterThan 0
        $events = @(Get-ArcpEvent -Store $script:Store -JobId $id)
        $events[-1].Type | Should -Be 'job.cancelled'
        $events[-1].Payload.message | Should -Match "after step '$($checkpoints[-1].Step)'"
        # Nothing ran after the cancel was honoured: the last event before job.cancelled is a checkpoint.
        $events[-2].Type | Should -Be 'job.checkpoint'
    }

    It 'lets a step abandon itself when the job is cancelled' {
        $marker = Join-Path $script:StoreDir 'abandon.marker'
        $child = Start-ChildPwsh $script:StoreDir @"
`$steps = [ordered]@{
    first = { 'first done' }
    long  = { Set-Content '$marker' `$ArcpStep.JobId; while (`$true) { `$ArcpStep.ReportProgress(10, 'waiting'); `$ArcpStep.ThrowIfCancellationRequested(); Start-Sleep -Milliseconds 100 } }
    never = { 'not reached' }
}
Start-ArcpJob -Store '$script:Store' -Name abandon -Step `$steps -WarningAction SilentlyContinue | Out-Null
"@
        try {
            $id = Wait-ForFile $marker
            $stopped = Stop-ArcpJob -Store $script:Store -JobId $id -PassThru -Confirm:$false -DeadlineSeconds 30
            $stopped.State | Should -Be 'Cancelled'
            $child.WaitForExit(30000) | Should -BeTrue
        }
        finally {
            if (-not $child.HasExited) { $child.Kill() }
        }

        @(Get-ArcpCheckpoint -Store $script:Store -JobId $id).Step | Should -Be @('first')
        $stopped.Error.Message | Should -Match "after step 'first'"
    }
}

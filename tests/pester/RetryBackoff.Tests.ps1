# Issue 10 section 2: attempts are durable. A step's policy is honoured with -AsJob, and a kill -9 during the wait
# between attempts neither restarts the attempt count nor skips what is left of the wait.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Manifest = Get-ArcpModulePath
    Import-Module $script:Manifest
    $script:Work = New-TestFolder -Prefix 'arcp-backoff'

    # A step body (self-contained text) that appends "<attempt> <utc ticks>" to $Counter and fails until attempt $SucceedOn.
    function Get-FlakyBody([string]$Counter, [int]$SucceedOn) {
        "`$n = @(Get-Content -LiteralPath '$Counter' -ErrorAction Ignore).Count + 1; Add-Content -LiteralPath '$Counter' -Value `"`$n `$([DateTime]::UtcNow.Ticks)`"; if (`$n -lt $SucceedOn) { throw `"transient `$n`" }; `"done on `$n`""
    }

    function Get-AttemptEvent([string]$Store, [string]$JobId) {
        @(Get-ArcpEvent -Store $Store -JobId $JobId | Where-Object { $_.Type -eq 'log' -and $_.Payload.attributes.PSObject.Properties['event'] -and $_.Payload.attributes.event -eq 'step.attempt_failed' })
    }
}

AfterAll { Remove-TestFolder }

Describe 'A step policy with -AsJob' {
    It 'retries in the background runspace as it does in the foreground' {
        $store = Join-Path $script:Work 'asjob.db'
        $counter = Join-Path $script:Work 'asjob-counter.txt'
        $steps = [ordered]@{ flaky = @{ Run = [scriptblock]::Create((Get-FlakyBody $counter 3)); MaxAttempts = 4; RetryDelay = 0.05 } }

        $background = Start-ArcpJob -Step $steps -Store $store -AsJob
        $null = $background | Wait-Job -Timeout 120
        $job = $background | Receive-Job -WarningAction SilentlyContinue

        $job.State | Should -Be 'Completed'
        $job.Result | Should -Be 'done on 3'
        (Get-ArcpCheckpoint -JobId $job.JobId -Store $store).Attempts | Should -Be 3
        @(Get-AttemptEvent $store $job.JobId).Count | Should -Be 2
    }
}

Describe 'kill -9 during the wait between attempts' {
    It 'resumes with the next attempt number after what was left of the recorded delay' {
        $store = Join-Path $script:Work 'killed.db'
        $counter = Join-Path $script:Work 'killed-counter.txt'
        $delay = 6
        $start = "Import-Module '$script:Manifest'; Start-ArcpJob -Name backoff -Step ([ordered]@{ flaky = @{ Run = { $(Get-FlakyBody $counter 3) }; MaxAttempts = 4; RetryDelay = '00:00:0$delay' } }) | Out-Null"
        $child = Start-ChildPwsh -NoWait -ScriptText $start -Environment @{ ARCP_STORE = $store } -TimeoutSeconds 120

        # Kill the child (its whole process tree, SIGKILL) once its first failed attempt is durable: it is then waiting.
        $deadline = [DateTime]::UtcNow.AddSeconds(90)
        $recorded = @()
        while (-not $recorded -and [DateTime]::UtcNow -lt $deadline -and -not $child.Process.HasExited) {
            Start-Sleep -Milliseconds 200
            $jobs = @(Get-ArcpJob -Store $store -ErrorAction Ignore)
            if ($jobs) { $recorded = @(Get-AttemptEvent $store $jobs[0].JobId) }
        }
        $recorded.Count | Should -Be 1 -Because 'the first attempt failed and its event was recorded before the wait'
        $child.Process.Kill($true)
        $killed = $child | Wait-ChildPwsh
        $killed.ExitCode | Should -Not -Be 0
        $retryAt = [DateTimeOffset]::Parse($recorded[0].Payload.attributes.retry_at)
        [int]$recorded[0].Payload.attributes.delay_ms | Should -Be ($delay * 1000)

        $resumed = Start-ChildPwsh -ScriptText "Import-Module '$script:Manifest'; Get-ArcpJob -State Interrupted | Resume-ArcpJob -WarningAction SilentlyContinue | ForEach-Object { `"`$(`$_.State) `$(`$_.Result)`" }" -Environment @{ ARCP_STORE = $store } -TimeoutSeconds 120

        $resumed.Output | Should -Be @('Completed done on 3') -Because (Format-ChildResult $resumed)
        $attempts = @(Get-Content -LiteralPath $counter | ForEach-Object { $n, $ticks = $_ -split ' '; [pscustomobject]@{ N = [int]$n; At = [DateTimeOffset]::new([long]$ticks, [TimeSpan]::Zero) } })
        $attempts.N | Should -Be @(1, 2, 3)
        $attempts[1].At | Should -BeGreaterOrEqual $retryAt.AddMilliseconds(-250) -Because 'the rest of the recorded wait was honoured after the crash'
        $job = Get-ArcpJob -Store $store
        @(Get-AttemptEvent $store $job.JobId | ForEach-Object { [int]$_.Payload.attributes.attempt }) | Should -Be @(1, 2) -Because 'the count went on'
        (Get-ArcpCheckpoint -JobId $job.JobId -Store $store).Attempts | Should -Be 3
    }
}

Describe 'Stop-ArcpJob -DeadlineSeconds and a step that ignores the cancel' {
    It 'stops the hung step body (its finally runs) and the job ends Cancelled within the deadline' {
        $store = Join-Path $script:Work 'hung.db'
        $marker = Join-Path $script:Work 'hung-started.txt'
        $cleaned = Join-Path $script:Work 'hung-finally.txt'
        $start = "Import-Module '$script:Manifest'; Start-ArcpJob -Name hung -Step ([ordered]@{ first = { 'one' }; hang = { try { Set-Content -LiteralPath '$marker' -Value 'x'; while (`$true) { Start-Sleep -Milliseconds 100 } } finally { Set-Content -LiteralPath '$cleaned' -Value 'ran' } }; never = { 'not reached' } }) -WarningAction SilentlyContinue | ForEach-Object { `"`$(`$_.State)`" }"
        # The owner hears of a cancel from another process at its next heartbeat: make that every second.
        $child = Start-ChildPwsh -NoWait -ScriptText $start -Environment @{ ARCP_STORE = $store; ARCP_HEARTBEAT_SECONDS = 1 } -TimeoutSeconds 120
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(90)
            while (-not (Test-Path -LiteralPath $marker) -and [DateTime]::UtcNow -lt $deadline -and -not $child.Process.HasExited) { Start-Sleep -Milliseconds 100 }
            Test-Path -LiteralPath $marker | Should -BeTrue -Because 'the hanging step started'
            $job = Get-ArcpJob -Store $store

            $clock = [Diagnostics.Stopwatch]::StartNew()
            $stopped = Stop-ArcpJob -JobId $job.JobId -Store $store -DeadlineSeconds 4 -PassThru -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue
            $clock.Stop()
        }
        finally {
            $finished = $child | Wait-ChildPwsh
        }

        $stopped.State | Should -Be 'Cancelled' -Because "Stop-ArcpJob warned: $warned"
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 4.5
        $finished.Output | Should -Be @('Cancelled') -Because (Format-ChildResult $finished)
        Test-Path -LiteralPath $cleaned | Should -BeTrue -Because 'the stopped step''s finally block ran'
        @(Get-ArcpCheckpoint -JobId $job.JobId -Store $store).Step | Should -Be @('first')
    }
}

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

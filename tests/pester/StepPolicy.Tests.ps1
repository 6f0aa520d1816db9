# Per-step policies: a step as a hashtable with Run, MaxAttempts, RetryDelay, Backoff, Timeout and RetryOn;
# a workflow file's default Policy; bad policies refused with clear errors.

BeforeAll {
    if (-not $env:ARCP_MODULE_PATH) { throw 'ARCP_MODULE_PATH is not set; run the tests through ./build.ps1 test.' }
    Import-Module $env:ARCP_MODULE_PATH -Force
    $script:StoreDir = Join-Path ([IO.Path]::GetTempPath()) "arcp-policy-$([guid]::NewGuid().ToString('n'))"
    $null = New-Item -ItemType Directory -Path $script:StoreDir
    $script:Store = Join-Path $script:StoreDir 'arcp.db'
}

AfterAll {
    Remove-Module Arcp.Resumability -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $script:StoreDir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'A step with a policy' {
    It 'fails twice, then succeeds on the third attempt with two attempt events recorded' {
        $counter = Join-Path $script:StoreDir 'flaky-count.txt'
        Set-Content -LiteralPath $counter -Value 0
        $steps = [ordered]@{
            fetch = @{
                Run         = {
                    $n = [int](Get-Content -LiteralPath $counter) + 1
                    Set-Content -LiteralPath $counter -Value $n
                    if ($n -lt 3) { throw "transient $n" }
                    "fetched on $n"
                }.GetNewClosure()
                MaxAttempts = 4
                RetryDelay  = 0.05
                Backoff     = 'Exponential'
            }
        }

        $job = Start-ArcpJob -Store $script:Store -Step $steps -WarningAction SilentlyContinue

        $job.State | Should -Be 'Completed'
        $job.Result | Should -Be 'fetched on 3'
        $attempts = @(Get-ArcpEvent -Store $script:Store -JobId $job.JobId | Where-Object { $_.Type -eq 'log' -and $_.Payload.attributes.PSObject.Properties['event'] -and $_.Payload.attributes.event -eq 'step.attempt_failed' })
        $attempts.Count | Should -Be 2
        @($attempts | ForEach-Object { $_.Payload.attributes.attempt }) | Should -Be @(1, 2)
        $attempts[0].Payload.attributes.error_message | Should -Match 'transient 1'
    }

    It 'stops an attempt past its Timeout (its finally runs) and fails with DEADLINE_EXCEEDED' {
        $marker = Join-Path $script:StoreDir 'finally.txt'
        $steps = [ordered]@{
            hang = @{
                Run     = { try { while ($true) { Start-Sleep -Milliseconds 50 } } finally { Set-Content -LiteralPath $marker -Value 'ran' } }.GetNewClosure()
                Timeout = '00:00:01'
            }
        }

        $job = Start-ArcpJob -Store $script:Store -Step $steps -ErrorAction SilentlyContinue -WarningAction SilentlyContinue

        $job.State | Should -Be 'Failed'
        $job.Error.Code | Should -Be 'DEADLINE_EXCEEDED'
        Get-Content -LiteralPath $marker | Should -Be 'ran'
    }

    It 'does not retry when RetryOn says no' {
        $counter = Join-Path $script:StoreDir 'picky-count.txt'
        Set-Content -LiteralPath $counter -Value 0
        $steps = [ordered]@{
            fetch = @{
                Run         = { Set-Content -LiteralPath $counter -Value ([int](Get-Content -LiteralPath $counter) + 1); throw 'fatal: bad input' }.GetNewClosure()
                MaxAttempts = 5
                RetryDelay  = 0
                RetryOn     = { param($err) $err.Message -notmatch 'fatal' }
            }
        }

        $job = Start-ArcpJob -Store $script:Store -Step $steps -ErrorAction SilentlyContinue -WarningAction SilentlyContinue

        $job.State | Should -Be 'Failed'
        Get-Content -LiteralPath $counter | Should -Be 1
    }

    It 'applies a workflow file''s default Policy to its steps' {
        $counter = Join-Path $script:StoreDir 'file-count.txt'
        Set-Content -LiteralPath $counter -Value 0
        $file = Join-Path $script:StoreDir 'retrying.ps1'
        Set-Content -LiteralPath $file -Value @"
@{
    Name   = 'retrying'
    Policy = @{ MaxAttempts = 3; RetryDelay = 0 }
    Steps  = [ordered]@{
        fetch = { `$n = [int](Get-Content -LiteralPath '$counter') + 1; Set-Content -LiteralPath '$counter' -Value `$n; if (`$n -lt 2) { throw 'once' }; `$n }
    }
}
"@

        $job = Start-ArcpJob -Store $script:Store -Workflow $file -WarningAction SilentlyContinue

        $job.State | Should -Be 'Completed'
        $job.Result | Should -Be 2
    }
}

Describe 'A bad policy' {
    It 'refuses <Case> with an InvalidArgument error naming the setting' -ForEach @(
        @{ Case = 'an unknown key'; Policy = @{ Run = { 1 }; MaxAttempt = 3 }; Pattern = "'MaxAttempt' is not a policy setting" }
        @{ Case = 'a negative delay'; Policy = @{ Run = { 1 }; MaxAttempts = 2; RetryDelay = -1 }; Pattern = 'RetryDelay must not be negative' }
        @{ Case = 'zero attempts'; Policy = @{ Run = { 1 }; MaxAttempts = 0 }; Pattern = 'MaxAttempts must be at least 1' }
        @{ Case = 'an unknown backoff'; Policy = @{ Run = { 1 }; Backoff = 'Fibonacci' }; Pattern = 'Backoff must be Constant, Linear or Exponential' }
        @{ Case = 'a missing Run'; Policy = @{ MaxAttempts = 2 }; Pattern = "without a 'Run' script block" }
    ) {
        $err = $null
        $null = Start-ArcpJob -Store $script:Store -Step ([ordered]@{ only = $Policy }) -ErrorAction SilentlyContinue -ErrorVariable err
        $err | Should -Not -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match $Pattern
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].FullyQualifiedErrorId | Should -Match 'INVALID_ARGUMENT'
    }
}

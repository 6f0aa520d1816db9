# Issue 10 section 3: each checkpoint records when its step started, how many attempts it took and how long it ran,
# and Get-ArcpCheckpoint shows StartedAt, Attempts and Duration.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ArcpModulePath)
    $script:Work = New-TestFolder -Prefix 'arcp-timeline'
}

AfterAll { Remove-TestFolder }

Describe 'Get-ArcpCheckpoint StartedAt, Attempts and Duration' {
    It 'shows three attempts for a step that failed twice, and one for a plain step, with a start before the checkpoint and the time it ran' {
        $store = Join-Path $script:Work 'timeline.db'
        $counter = Join-Path $script:Work 'flaky.txt'
        Set-Content -LiteralPath $counter -Value 0
        $steps = [ordered]@{
            plain = { Start-Sleep -Milliseconds 300; 'plain' }
            flaky = @{
                Run         = [scriptblock]::Create("`$n = [int](Get-Content -LiteralPath '$counter') + 1; Set-Content -LiteralPath '$counter' -Value `$n; if (`$n -lt 3) { throw `"transient `$n`" }; 'flaky'")
                MaxAttempts = 4
                RetryDelay  = 0.05
            }
        }
        $before = [DateTimeOffset]::UtcNow

        $job = Start-ArcpJob -Step $steps -Store $store -WarningAction SilentlyContinue -ErrorAction Stop
        $checkpoints = @(Get-ArcpCheckpoint -JobId $job.JobId -Store $store)

        $job.State | Should -Be 'Completed'
        $checkpoints.Step | Should -Be @('plain', 'flaky')
        $checkpoints.Attempts | Should -Be @(1, 3)
        foreach ($checkpoint in $checkpoints) {
            $checkpoint.StartedAt | Should -BeGreaterOrEqual $before.AddSeconds(-1)
            $checkpoint.StartedAt | Should -BeLessOrEqual $checkpoint.CreatedAt
            $checkpoint.Duration | Should -BeOfType [timespan]
        }
        $checkpoints[0].Duration.TotalMilliseconds | Should -BeGreaterOrEqual 250 -Because 'the plain step slept 300 ms'
        ($checkpoints | Format-Table | Out-String -Width 120) | Should -Match '(?m)^\s+0 plain .* 1 +0\.[0-9]+s$'
    }
}

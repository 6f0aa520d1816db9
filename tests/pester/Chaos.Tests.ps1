# The chaos harness (tests/chaos/Invoke-ChaosRun.ps1, `build.ps1 chaos`) in CI: one short round on SQLite
# and one on a throwaway PostgreSQL server, side by side, with worker process groups killed (kill -9) at
# random instants; the harness checks the invariants and exits 1 on any violation. The checker itself is
# tested on hand-made evidence, so a broken checker cannot pass the runs silently.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'helpers/ArcpTestProcesses.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot '../chaos/ChaosInvariants.psm1') -Force
    $script:Harness = Join-Path $PSScriptRoot '../chaos/Invoke-ChaosRun.ps1'
    $script:Temp = Join-Path ([IO.Path]::GetTempPath()) "arcp-chaos-ci-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $script:Temp

    # Step lines for one job: @('one', 'start', 11) -> effect record (ticks grow with the list order).
    function New-Effect([string]$Job, [object[][]]$Lines) {
        $ticks = 1000
        foreach ($l in $Lines) {
            $ticks += 10
            [pscustomobject]@{ Ticks = $ticks; Event = "step-$($l[1])"; Subject = $Job; Step = $l[0]; Pid = [int]$l[2] }
        }
    }
    function New-CompletedJob([int]$Number) {
        [pscustomobject]@{ JobId = "job_$Number"; Name = "chaos-$Number"; State = 'Completed'; Result = (Get-ChaosExpectedResult $Number); Error = $null }
    }
    function New-Checkpoints([string[]]$Steps) {
        $i = 0
        @($Steps | ForEach-Object { [pscustomobject]@{ Step = $_; StepIndex = $i++ } })
    }
    $script:CleanRun = @(foreach ($s in (Get-ChaosStepName)) { , @($s, 'start', 11); , @($s, 'end', 11) })
}

AfterAll {
    Remove-Item -LiteralPath $script:Temp -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'The chaos invariant checker' {
    It 'accepts a clean run and a step re-run after its process was killed in the body' {
        $lines = @(, @('one', 'start', 11)) + @(foreach ($s in (Get-ChaosStepName)) { , @($s, 'start', 12); , @($s, 'end', 12) })
        $verdict = Test-ChaosInvariant -JobCount 1 -Jobs @(New-CompletedJob 1) -Checkpoints @{ job_1 = New-Checkpoints (Get-ChaosStepName) } -Effects @(New-Effect 'job_1' $lines) -KilledPids @(11)
        $verdict.Violations | Should -BeNullOrEmpty
        $verdict.ReRunsAfterKillInBody | Should -Be 1
        $verdict.StepRuns | Should -Be 6
    }

    It 'reports a step that ran again after its successor started, and a re-run whose process was never killed' {
        $lines = @(, @('one', 'start', 11); , @('one', 'end', 11); , @('two', 'start', 11); , @('two', 'end', 11); , @('one', 'start', 12); , @('one', 'end', 12)) +
            @(foreach ($s in @(Get-ChaosStepName)[2..4]) { , @($s, 'start', 12); , @($s, 'end', 12) })
        $verdict = Test-ChaosInvariant -JobCount 1 -Jobs @(New-CompletedJob 1) -Checkpoints @{ job_1 = New-Checkpoints (Get-ChaosStepName) } -Effects @(New-Effect 'job_1' $lines) -KilledPids @()
        $verdict.Violations | Should -Contain 'job job_1: step one started again (process 12) after step two had started (process 11)'
        $verdict.Violations | Should -Contain 'job job_1: step one ran again although process 11, which ran it before, was never killed'
    }

    It 'reports a wrong result, a missing job, a duplicate checkpoint and a step that never ran' {
        $wrong = New-CompletedJob 1
        $wrong.Result = 'chaos 1: something else'
        $verdict = Test-ChaosInvariant -JobCount 2 -Jobs @($wrong) -Checkpoints @{ job_1 = New-Checkpoints @('one', 'two', 'two', 'three', 'four', 'five') } -Effects @(New-Effect 'job_1' @($script:CleanRun | Select-Object -SkipLast 2)) -KilledPids @()
        $verdict.Violations | Should -Contain "job chaos-1 (job_1): result 'chaos 1: something else' (expected '$(Get-ChaosExpectedResult 1)')"
        $verdict.Violations | Should -Contain 'job chaos-2: 0 jobs in the store (expected exactly 1)'
        $verdict.Violations | Should -Contain 'job job_1: step five never started'
        @($verdict.Violations | Where-Object { $_ -like 'job chaos-1 (job_1): checkpoints *' }).Count | Should -Be 1
    }

    It 'places kills: start-up, inside a body, after a body before its checkpoint, after the checkpoint' {
        $effects = @(
            [pscustomobject]@{ Ticks = 1; Event = 'ready'; Subject = '-'; Step = '-'; Pid = 21 }
            [pscustomobject]@{ Ticks = 2; Event = 'start-begin'; Subject = '1'; Step = '-'; Pid = 21 }
            [pscustomobject]@{ Ticks = 3; Event = 'step-start'; Subject = 'job_1'; Step = 'one'; Pid = 21 }
            [pscustomobject]@{ Ticks = 4; Event = 'ready'; Subject = '-'; Step = '-'; Pid = 22 }
            [pscustomobject]@{ Ticks = 5; Event = 'resume-begin'; Subject = 'job_1'; Step = '-'; Pid = 22 }
            [pscustomobject]@{ Ticks = 6; Event = 'step-start'; Subject = 'job_1'; Step = 'one'; Pid = 22 }
            [pscustomobject]@{ Ticks = 7; Event = 'step-end'; Subject = 'job_1'; Step = 'one'; Pid = 22 }
            [pscustomobject]@{ Ticks = 8; Event = 'ready'; Subject = '-'; Step = '-'; Pid = 23 }
            [pscustomobject]@{ Ticks = 9; Event = 'resume-begin'; Subject = 'job_1'; Step = '-'; Pid = 23 }
            [pscustomobject]@{ Ticks = 10; Event = 'step-start'; Subject = 'job_1'; Step = 'one'; Pid = 23 }
            [pscustomobject]@{ Ticks = 11; Event = 'step-end'; Subject = 'job_1'; Step = 'one'; Pid = 23 }
        )
        $kills = @(20, 21, 22, 23) | ForEach-Object { [pscustomobject]@{ Pid = $_; Reason = 'random' } }
        (Get-ChaosKillPhase -Kills $kills -Effects $effects).Phase |
            Should -Be @('startup/outside-step', 'start/in-body', 'resume/body-ended-uncommitted', 'resume/committed')
    }
}

Describe 'A short chaos round (kill -9 of worker process groups)' {
    BeforeAll {
        # Small rounds that still see every kind of kill; both stores side by side to save wall-clock time.
        $script:Runs = @{}
        $children = foreach ($store in 'sqlite', 'postgres') {
            $resultFile = Join-Path $script:Temp "chaos-$store.json"
            $script:Runs[$store] = [pscustomobject]@{ ResultFile = $resultFile; Done = $null; Summary = $null }
            [pscustomobject]@{
                Store = $store
                Child = Start-ArcpChild -ScriptPath $script:Harness -Environment @{ ARCP_MODULE_PATH = $env:ARCP_MODULE_PATH } -Arguments @(
                    '-Store', $store, '-Rounds', '1', '-Workers', '2', '-Jobs', '5', '-KillsPerRound', '6',
                    '-MinGapMs', '1500', '-MaxGapMs', '4000', '-RoundTimeoutSeconds', '200', '-ResultFile', $resultFile)
            }
        }
        foreach ($c in $children) {
            $run = $script:Runs[$c.Store]
            $run.Done = Wait-ArcpChild $c.Child -TimeoutSeconds 280
            if (Test-Path -LiteralPath $run.ResultFile) { $run.Summary = Get-Content -LiteralPath $run.ResultFile -Raw | ConvertFrom-Json }
            # The harness's figures, for the CI log.
            foreach ($line in @($run.Done.Out -split "`r?`n" | Where-Object { $_ -match '^(round |kills by |\d+ rounds in )' })) { Write-Host "    chaos $($c.Store): $line" }
        }
    }

    It 'on <_>: every invariant holds after kills, and the figures add up' -ForEach @('sqlite', 'postgres') {
        $run = $script:Runs[$_]
        $because = "the harness printed:`n$($run.Done.Out)`n$($run.Done.Err)"
        $run.Done.ExitCode | Should -Be 0 -Because $because
        $run.Summary | Should -Not -BeNullOrEmpty -Because $because
        @($run.Summary.Violations) | Should -BeNullOrEmpty
        $run.Summary.Kills | Should -BeGreaterThan 0 -Because $because
        $run.Summary.Jobs | Should -Be 5
        $run.Summary.StepRuns | Should -Be (25 + $run.Summary.ReRuns)
        (@($run.Summary.KillsByPhase.PSObject.Properties.Value) | Measure-Object -Sum).Sum | Should -Be $run.Summary.Kills
        $run.Done.Out | Should -Match 'all invariants hold'
    }
}

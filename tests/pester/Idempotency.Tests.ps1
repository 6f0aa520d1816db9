# Idempotency: a re-issued step that is already recorded returns its recorded output without running
# its body; a job-level -IdempotencyKey returns the existing job; $ArcpStep.IdempotencyKey is stable.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ArcpModulePath)

    $script:Folder = New-TestFolder
    # A command that forgot -Store would land in this decoy, never in the user's real default store.
    $script:SavedArcpStore = $env:ARCP_STORE
    $env:ARCP_STORE = Join-Path $script:Folder 'decoy-default.db'
}

AfterAll {
    $env:ARCP_STORE = $script:SavedArcpStore
    Remove-TestFolder
}

Describe 'Recorded steps are reused, not run again' {
    BeforeAll {
        # Fixtures/counted-steps.ps1: steps one..four; each body appends "<step> <pid> <key>" to the counter file.
        $script:StepFile = Get-FixturePath 'counted-steps.ps1'
        $runJob = Get-FixturePath 'run-job.ps1'
        $folder = New-TestFolder
        $script:Store = Join-Path $folder 'arcp.db'
        $script:Counter = Join-Path $folder 'counter.txt'
        $marker = Join-Path $folder 'killed.marker'
        $environment = @{ ARCP_STORE = $script:Store; ARCP_TEST_COUNTER = $script:Counter; ARCP_TEST_KILL_IN_STEP = 'two'; ARCP_TEST_KILL_MARKER = $marker }

        # Process A dies inside step two (first attempt, before its checkpoint).
        $script:ProcessA = Start-ChildPwsh $runJob -Environment $environment -ArgumentList '-Mode', 'Start', '-StepFile', $script:StepFile, '-InputText', '5'
        $script:JobId = @(Get-ArcpJob -Store $script:Store -ErrorAction Stop)[0].JobId
        # Process B resumes it (two runs again), and dies right after three's checkpoint.
        $script:ProcessB = Start-ChildPwsh $runJob -Environment $environment -ArgumentList '-Mode', 'Resume', '-JobId', $script:JobId, '-StepFile', $script:StepFile, '-CrashAfter', 'three'
        $script:RunsAfterB = @(Read-CounterFile $script:Counter)
        $script:StateAfterB = (Get-ArcpJob -JobId $script:JobId -Store $script:Store).State
        $script:CheckpointsAfterB = @(Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store -ErrorAction Stop)

        # This process resumes from the FIRST checkpoint: two and three are re-issued with the same inputs.
        $savedCounter = $env:ARCP_TEST_COUNTER
        $env:ARCP_TEST_COUNTER = $script:Counter
        try {
            $output = Resume-ArcpJob -JobId $script:JobId -CheckpointId $script:CheckpointsAfterB[0].CheckpointId -Step (& $script:StepFile) -Store $script:Store -Verbose -ErrorAction Stop 4>&1
        }
        finally {
            $env:ARCP_TEST_COUNTER = $savedCounter
        }
        $script:Resumed = @($output | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $script:Verbose = @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $script:Runs = @(Read-CounterFile $script:Counter)
        $script:Checkpoints = @(Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store -ErrorAction Stop)
    }

    It 'sets up a job interrupted after three, whose step two was killed once mid-body' {
        $script:ProcessA.ExitCode | Should -Be 137 -Because (Format-ChildResult $script:ProcessA)
        $script:ProcessB.ExitCode | Should -Be 137 -Because (Format-ChildResult $script:ProcessB)
        $script:StateAfterB | Should -Be 'Interrupted'
        $script:CheckpointsAfterB.Step | Should -Be @('one', 'two', 'three')
        $script:RunsAfterB.Step | Should -Be @('one', 'two', 'two', 'three')
    }

    It 'gives the killed step the same $ArcpStep.IdempotencyKey when it runs again in a new process' {
        $twice = @($script:RunsAfterB | Where-Object Step -EQ 'two')
        $twice | Should -HaveCount 2
        $twice[0].ProcessId | Should -Not -Be $twice[1].ProcessId
        $twice[1].Extra | Should -BeExactly $twice[0].Extra
        $twice[0].Extra | Should -BeExactly ($script:CheckpointsAfterB | Where-Object Step -EQ 'two').IdempotencyKey
    }

    It 'resuming from the first checkpoint reuses the recorded outputs of two and three and runs only four' {
        @($script:Runs | Select-Object -Skip $script:RunsAfterB.Count).Step | Should -Be @('four') -Because 'the bodies of two and three must not run again'
        $script:Verbose | Should -Contain "Job $($script:JobId): ran [four], reused recorded [two, three]."
        $script:Resumed | Should -HaveCount 1
        $script:Resumed[0].State | Should -Be 'Completed'
        # four ran on three's RECORDED output: ((5*10+1)*10+2)*10+3 = 5123, then *10+4.
        $script:Resumed[0].Result.Step | Should -Be 'four'
        $script:Resumed[0].Result.Value | Should -Be 51234
    }

    It 'keeps the recorded checkpoints and adds one for four' {
        $script:Checkpoints.Step | Should -Be @('one', 'two', 'three', 'four')
        $script:Checkpoints[0..2].CheckpointId | Should -Be $script:CheckpointsAfterB.CheckpointId
        $script:Checkpoints.Output.Value | Should -Be @(51, 512, 5123, 51234)
    }

    It '$ArcpStep.IdempotencyKey equals the checkpoint''s key and has the form workflow:job_id:step:16-hex-digits' {
        $script:Runs | Should -HaveCount 5
        foreach ($run in $script:Runs) {
            $run.Extra | Should -MatchExactly ('^inline:{0}:{1}:[0-9a-f]{{16}}$' -f [regex]::Escape($script:JobId), $run.Step)
            $run.Extra | Should -BeExactly ($script:Checkpoints | Where-Object Step -EQ $run.Step).IdempotencyKey
        }
        @($script:Checkpoints.IdempotencyKey | Select-Object -Unique) | Should -HaveCount 4
    }
}

Describe 'Job-level -IdempotencyKey' {
    BeforeAll {
        $script:Store = New-TestStore
        $script:BodyRuns = [System.Collections.Generic.List[string]]::new()
        $runs = $script:BodyRuns
        $script:KeySteps = [ordered]@{
            first  = { $runs.Add('first'); "$_/first" }.GetNewClosure()
            second = { $runs.Add('second'); "$_/second" }.GetNewClosure()
        }
        $script:Original = Start-ArcpJob -Step $script:KeySteps -InputObject 'in' -IdempotencyKey 'order-42' -Name 'keyed' -Store $script:Store -ErrorAction Stop
        $script:RunsAfterOriginal = $script:BodyRuns.Count
    }

    It 'runs the job once the first time' {
        $script:Original.State | Should -Be 'Completed'
        $script:Original.Result | Should -BeExactly 'in/first/second'
        $script:Original.IdempotencyKey | Should -Be 'order-42'
        $script:RunsAfterOriginal | Should -Be 2
    }

    It 'returns the same job for the same key and input, running nothing again' {
        $before = Get-StoreSnapshot -Store $script:Store
        $again = Start-ArcpJob -Step $script:KeySteps -InputObject 'in' -IdempotencyKey 'order-42' -Name 'keyed' -Store $script:Store -ErrorAction Stop -WarningAction SilentlyContinue
        $again.JobId | Should -Be $script:Original.JobId
        $again.State | Should -Be 'Completed'
        $again.Result | Should -BeExactly 'in/first/second'
        $script:BodyRuns.Count | Should -Be $script:RunsAfterOriginal
        Get-StoreSnapshot -Store $script:Store | Should -Be $before
    }

    It 'refuses the same key with a different input: ALREADY_EXISTS, ResourceExists, no second job' {
        $before = Get-StoreSnapshot -Store $script:Store
        $err = $null
        $out = Start-ArcpJob -Step $script:KeySteps -InputObject 'other' -IdempotencyKey 'order-42' -Store $script:Store -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'ALREADY_EXISTS,Arcp.Resumability.PowerShell.Commands.StartArcpJobCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        "$($err[0])" | Should -Match ([regex]::Escape($script:Original.JobId))
        $script:BodyRuns.Count | Should -Be $script:RunsAfterOriginal
        @(Get-ArcpJob -Store $script:Store) | Should -HaveCount 1
        Get-StoreSnapshot -Store $script:Store | Should -Be $before

        { Start-ArcpJob -Step $script:KeySteps -InputObject 'other' -IdempotencyKey 'order-42' -Store $script:Store -ErrorAction Stop } |
            Should -Throw -ErrorId 'ALREADY_EXISTS,Arcp.Resumability.PowerShell.Commands.StartArcpJobCommand'
    }

    It 'starts a separate job for a different key with the same input' {
        $other = Start-ArcpJob -Step $script:KeySteps -InputObject 'in' -IdempotencyKey 'order-43' -Store $script:Store -ErrorAction Stop
        $other.JobId | Should -Not -Be $script:Original.JobId
        $script:BodyRuns.Count | Should -Be ($script:RunsAfterOriginal + 2)
        @(Get-ArcpJob -Store $script:Store) | Should -HaveCount 2
    }
}

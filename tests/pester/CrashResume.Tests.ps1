# The crash-proof research job, end to end, with REAL processes: a child pwsh runs the job and dies
# (SIGKILL or exit 137), a NEW child resumes it, and the result must be the uninterrupted run's report,
# byte for byte, with every step body run exactly once across both processes.
#
# Step bodies are counted with Fixtures/research-counted.ps1: the built-in research steps, each wrapped
# to append "<step> <pid>" to the file named by $env:ARCP_TEST_COUNTER before it runs.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ArcpModulePath)

    $script:CountedWorkflow = Get-FixturePath 'research-counted.ps1'
    $script:RunJob = Get-FixturePath 'run-job.ps1'
    $script:Main = [IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../examples/resumability/main.ps1'))
    $script:Steps = Get-ResearchStepName
    $script:Request = Get-DefaultResearchRequest

    $script:Folder = New-TestFolder
    # A command that forgot -Store would land in this decoy, never in the user's real default store.
    $script:SavedArcpStore = $env:ARCP_STORE
    $env:ARCP_STORE = Join-Path $script:Folder 'decoy-default.db'

    # The reference: one uninterrupted run of the same counted workflow, in this process.
    $script:ReferenceCounter = Join-Path $script:Folder 'reference-counter.txt'
    $savedCounter = $env:ARCP_TEST_COUNTER
    $env:ARCP_TEST_COUNTER = $script:ReferenceCounter
    try {
        $script:Reference = Start-ArcpJob -Workflow $script:CountedWorkflow -InputObject $script:Request -Store (Join-Path $script:Folder 'reference.db') -ErrorAction Stop
    }
    finally {
        $env:ARCP_TEST_COUNTER = $savedCounter
    }
    $script:ReferenceReport = [string]$script:Reference.Result
    $script:ReferenceHash = Get-Sha256 $script:ReferenceReport

    # Environment for children: everything a test relies on is set or removed explicitly.
    function New-ChildEnvironment([string]$Store, [hashtable]$Extra = @{}) {
        $environment = @{
            ARCP_STORE = $Store; ARCP_TEST_COUNTER = $null; ARCP_TEST_KILL_IN_STEP = $null; ARCP_TEST_KILL_MARKER = $null
            CRASH_AFTER_STEP = $null; RESUME_JOB_ID = $null; RESUME_AFTER_MSG_ID = $null; RESUME_CHECKPOINT_ID = $null
        }
        foreach ($k in $Extra.Keys) { $environment[$k] = $Extra[$k] }
        $environment
    }

    # The "CHECKPOINT <index> <step> <job>" lines run-job.ps1 prints, as step names.
    function Get-CheckpointLine([string[]]$Output) {
        @($Output | Where-Object { $_ -match '^CHECKPOINT \d+ (\S+) ' } | ForEach-Object { ($_ -split ' ')[2] })
    }
}

AfterAll {
    $env:ARCP_STORE = $script:SavedArcpStore
    Remove-TestFolder
}

Describe 'The uninterrupted reference run' {
    It 'completes with a markdown report and runs each step body once' {
        $script:Reference.State | Should -Be 'Completed'
        $script:Reference.Workflow | Should -Be 'research-counted'
        $script:ReferenceReport | Should -BeLike '# Research report: *'
        $script:ReferenceReport | Should -Match '(?m)^## Critique$'
        @(Read-CounterFile $script:ReferenceCounter).Step | Should -Be $script:Steps
    }
}

Describe 'A crash right after each step''s checkpoint' {
    BeforeAll {
        # One job per step, each in its own store. The five crashing children run side by side, then the
        # five resuming children do (independent processes and stores; it only saves wall-clock time).
        $script:Cases = [ordered]@{}
        for ($i = 0; $i -lt $script:Steps.Count; $i++) {
            $folder = New-TestFolder
            $case = [pscustomobject]@{
                Step = $script:Steps[$i]; Index = $i
                Store = Join-Path $folder 'arcp.db'; Counter = Join-Path $folder 'counter.txt'; ResultPath = Join-Path $folder 'report.md'
                Crashed = $null; JobsAfterCrash = @(); InterruptedAfterCrash = @(); CheckpointsAfterCrash = @(); JobId = $null; Resumed = $null
            }
            $case | Add-Member -NotePropertyName Environment -NotePropertyValue (New-ChildEnvironment $case.Store @{ ARCP_TEST_COUNTER = $case.Counter })
            $script:Cases[$case.Step] = $case
        }
        $crashing = foreach ($case in $script:Cases.Values) {
            Start-ChildPwsh $script:RunJob -NoWait -Environment $case.Environment -ArgumentList @(
                '-Mode', 'Start', '-Workflow', $script:CountedWorkflow, '-InputText', $script:Request, '-CrashAfter', $case.Step)
        }
        $results = @($crashing | Wait-ChildPwsh)
        $resuming = [System.Collections.Generic.List[object]]::new()
        foreach ($case in $script:Cases.Values) {
            $case.Crashed = $results[$case.Index]
            $case.JobsAfterCrash = @(Get-ArcpJob -Store $case.Store -ErrorAction Stop)
            $case.InterruptedAfterCrash = @(Get-ArcpJob -State Interrupted -Store $case.Store -ErrorAction Stop)
            if ($case.JobsAfterCrash.Count -eq 1) {
                $case.JobId = $case.JobsAfterCrash[0].JobId
                $case.CheckpointsAfterCrash = @(Get-ArcpCheckpoint -JobId $case.JobId -Store $case.Store -ErrorAction Stop)
                $resuming.Add([pscustomobject]@{
                        Case   = $case
                        Handle = Start-ChildPwsh $script:RunJob -NoWait -Environment $case.Environment -ArgumentList @(
                            '-Mode', 'Resume', '-JobId', $case.JobId, '-Workflow', $script:CountedWorkflow, '-ResultPath', $case.ResultPath)
                    })
            }
        }
        foreach ($r in $resuming) { $r.Case.Resumed = Wait-ChildPwsh -Handle $r.Handle }
    }

    Context 'crash after <Step>' -ForEach @(
        @{ Step = 'plan'; Index = 0 }
        @{ Step = 'gather'; Index = 1 }
        @{ Step = 'synthesize'; Index = 2 }
        @{ Step = 'critique'; Index = 3 }
        @{ Step = 'finalize'; Index = 4 }
    ) {
        BeforeAll {
            $case = $script:Cases[$Step]
            $script:Store = $case.Store
            $script:Counter = $case.Counter
            $script:ResultPath = $case.ResultPath
            $script:Crashed = $case.Crashed
            $script:JobsAfterCrash = $case.JobsAfterCrash
            $script:InterruptedAfterCrash = $case.InterruptedAfterCrash
            $script:CheckpointsAfterCrash = $case.CheckpointsAfterCrash
            $script:JobId = $case.JobId
            $script:Resumed = $case.Resumed
            $script:Before = $script:Steps[0..$Index]
            $script:After = @(if ($Index -lt 4) { $script:Steps[($Index + 1)..4] })
        }

        It 'the first process dies with exit code 137 right after the <Step> checkpoint' {
            $script:Crashed.ExitCode | Should -Be 137 -Because (Format-ChildResult $script:Crashed)
            Get-CheckpointLine $script:Crashed.Output | Should -Be $script:Before
            $script:Crashed.Output | Should -Not -Contain 'STATE Completed'
        }

        It 'leaves the job Interrupted with checkpoints up to <Step>' {
            $script:JobsAfterCrash | Should -HaveCount 1
            $job = $script:JobsAfterCrash[0]
            $job.State | Should -Be 'Interrupted'
            $job.Owner | Should -BeNullOrEmpty
            $job.Workflow | Should -Be 'research-counted'
            $script:CheckpointsAfterCrash.Step | Should -Be $script:Before
            $job.LastCheckpointId | Should -Be $script:CheckpointsAfterCrash[-1].CheckpointId
            @($script:InterruptedAfterCrash.JobId) | Should -Be @($job.JobId) -Because 'Get-ArcpJob -State Interrupted finds it'
        }

        It 'a new process resumes it to Completed, running only the steps after <Step>' {
            $script:Resumed | Should -Not -BeNullOrEmpty
            $script:Resumed.ExitCode | Should -Be 0 -Because (Format-ChildResult $script:Resumed)
            $script:Resumed.Output | Should -Contain 'STATE Completed'
            Get-CheckpointLine $script:Resumed.Output | Should -Be $script:After
            $final = Get-ArcpJob -JobId $script:JobId -Store $script:Store -ErrorAction Stop
            $final.State | Should -Be 'Completed'
            @(Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store).Step | Should -Be $script:Steps
        }

        It 'produces the uninterrupted run''s report, byte for byte' {
            $script:ResultPath | Should -Exist
            [IO.File]::ReadAllText($script:ResultPath) | Should -BeExactly $script:ReferenceReport
            (Get-FileHash -LiteralPath $script:ResultPath -Algorithm SHA256).Hash | Should -Be $script:ReferenceHash
            (Get-ArcpJob -JobId $script:JobId -Store $script:Store).Result | Should -BeExactly $script:ReferenceReport
        }

        It 'ran every step body exactly once across both processes' {
            $runs = @(Read-CounterFile $script:Counter)
            $runs.Step | Should -Be $script:Steps
            $firstPid = $runs[0].ProcessId
            @($runs | Select-Object -First ($Index + 1) | Where-Object ProcessId -NE $firstPid) | Should -BeNullOrEmpty
            $later = @($runs | Select-Object -Skip ($Index + 1))
            if ($later.Count -gt 0) {
                $later[0].ProcessId | Should -Not -Be $firstPid -Because 'the steps after the crash ran in the new process'
                @($later | Where-Object ProcessId -NE $later[0].ProcessId) | Should -BeNullOrEmpty
            }
        }
    }
}

Describe 'A crash inside a step body, before its checkpoint' {
    BeforeAll {
        $folder = New-TestFolder
        $script:Store = Join-Path $folder 'arcp.db'
        $script:Counter = Join-Path $folder 'counter.txt'
        $script:Marker = Join-Path $folder 'killed.marker'
        $script:ResultPath = Join-Path $folder 'report.md'
        # The critique body kills its own process on its first attempt (the marker file records that attempt).
        $environment = New-ChildEnvironment $script:Store @{
            ARCP_TEST_COUNTER = $script:Counter; ARCP_TEST_KILL_IN_STEP = 'critique'; ARCP_TEST_KILL_MARKER = $script:Marker
        }
        $script:Crashed = Start-ChildPwsh $script:RunJob -Environment $environment -ArgumentList @(
            '-Mode', 'Start', '-Workflow', $script:CountedWorkflow, '-InputText', $script:Request)
        $script:JobsAfterCrash = @(Get-ArcpJob -Store $script:Store -ErrorAction Stop)
        $script:JobId = $script:JobsAfterCrash[0].JobId
        $script:CheckpointsAfterCrash = @(Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store -ErrorAction Stop)
        $script:Resumed = Start-ChildPwsh $script:RunJob -Environment $environment -ArgumentList @(
            '-Mode', 'Resume', '-JobId', $script:JobId, '-Workflow', $script:CountedWorkflow, '-ResultPath', $script:ResultPath)
    }

    It 'the first process dies inside critique, before critique is checkpointed' {
        $script:Crashed.ExitCode | Should -Be 137 -Because (Format-ChildResult $script:Crashed)
        $script:Marker | Should -Exist
        Get-CheckpointLine $script:Crashed.Output | Should -Be @('plan', 'gather', 'synthesize')
        $script:JobsAfterCrash | Should -HaveCount 1
        $script:JobsAfterCrash[0].State | Should -Be 'Interrupted'
        $script:CheckpointsAfterCrash.Step | Should -Be @('plan', 'gather', 'synthesize')
    }

    It 'on resume critique runs again, the steps before it do not' {
        $script:Resumed.ExitCode | Should -Be 0 -Because (Format-ChildResult $script:Resumed)
        Get-CheckpointLine $script:Resumed.Output | Should -Be @('critique', 'finalize')
        $runs = @(Read-CounterFile $script:Counter)
        $runs.Step | Should -Be @('plan', 'gather', 'synthesize', 'critique', 'critique', 'finalize')
        $runs[3].ProcessId | Should -Be $runs[0].ProcessId -Because 'the first critique attempt ran in the process that died'
        $runs[4].ProcessId | Should -Not -Be $runs[0].ProcessId
        $runs[5].ProcessId | Should -Be $runs[4].ProcessId
    }

    It 'records each step once and still produces the reference report' {
        (Get-ArcpJob -JobId $script:JobId -Store $script:Store).State | Should -Be 'Completed'
        @(Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store).Step | Should -Be $script:Steps
        [IO.File]::ReadAllText($script:ResultPath) | Should -BeExactly $script:ReferenceReport
        (Get-FileHash -LiteralPath $script:ResultPath -Algorithm SHA256).Hash | Should -Be $script:ReferenceHash
    }
}

Describe 'The seed demo flow (examples/resumability/main.ps1)' {
    BeforeAll {
        $script:Store = New-TestStore
        $script:Run1 = Start-ChildPwsh $script:Main -Environment (New-ChildEnvironment $script:Store @{ CRASH_AFTER_STEP = 'synthesize' })
        $script:ResumeValues = Get-ResumeValue $script:Run1.Output
        $resumeEnvironment = New-ChildEnvironment $script:Store $script:ResumeValues
        $script:Run2 = Start-ChildPwsh $script:Main -Environment $resumeEnvironment
        $script:Run3 = Start-ChildPwsh $script:Main -Environment $resumeEnvironment
        $script:DemoJob = if ($script:ResumeValues.Contains('RESUME_JOB_ID')) { Get-ArcpJob -JobId $script:ResumeValues.RESUME_JOB_ID -Store $script:Store }
        function Get-DemoCheckpointLine([string[]]$Output) {
            @($Output | Where-Object { $_ -match '^checkpoint: (\S+) -> ' } | ForEach-Object { ($_ -split ' ')[1] })
        }
    }

    It 'run 1 crashes after synthesize with exit code 137 and prints the three RESUME_* values' {
        $script:Run1.ExitCode | Should -Be 137 -Because (Format-ChildResult $script:Run1)
        @($script:ResumeValues.Keys) | Should -Be @('RESUME_JOB_ID', 'RESUME_AFTER_MSG_ID', 'RESUME_CHECKPOINT_ID')
        Get-DemoCheckpointLine $script:Run1.Output | Should -Be @('plan', 'gather', 'synthesize')
        $script:Run1.Output | Should -Contain "crashing after 'synthesize' (exit 137)"
        $synthesize = Get-ArcpCheckpoint -JobId $script:ResumeValues.RESUME_JOB_ID -CheckpointId $script:ResumeValues.RESUME_CHECKPOINT_ID -Store $script:Store -ErrorAction Stop
        $synthesize.Step | Should -Be 'synthesize'
        $synthesize.MessageId | Should -Be $script:ResumeValues.RESUME_AFTER_MSG_ID
    }

    It 'run 2 says "resuming at critique", runs critique and finalize, and prints the reference report' {
        $script:Run2.ExitCode | Should -Be 0 -Because (Format-ChildResult $script:Run2)
        $script:Run2.Output | Should -Contain 'resuming at critique'
        Get-DemoCheckpointLine $script:Run2.Output | Should -Be @('critique', 'finalize')
        $stdout = $script:Run2.StdOut -replace "`r`n", "`n"
        $marker = "job $($script:ResumeValues.RESUME_JOB_ID) is completed`n`n"
        $at = $stdout.IndexOf($marker, [StringComparison]::Ordinal)
        $at | Should -BeGreaterOrEqual 0 -Because "run 2 reports the job completed:`n$stdout"
        $stdout.Substring($at + $marker.Length) | Should -BeExactly ($script:ReferenceReport + "`n")
    }

    It 'run 3 says nothing is left to run and changes nothing' {
        $script:Run3.ExitCode | Should -Be 0 -Because (Format-ChildResult $script:Run3)
        ($script:Run3.Output -join "`n") | Should -Match "job $($script:ResumeValues.RESUME_JOB_ID) is already completed; nothing left to run"
        Get-DemoCheckpointLine $script:Run3.Output | Should -BeNullOrEmpty
        $script:DemoJob.State | Should -Be 'Completed'
        $script:DemoJob.Result | Should -BeExactly $script:ReferenceReport
        @(Get-ArcpCheckpoint -JobId $script:DemoJob.JobId -Store $script:Store).Step | Should -Be $script:Steps
    }
}

Describe 'Get-ArcpJob -State Interrupted | Resume-ArcpJob' {
    BeforeAll {
        $script:Store = New-TestStore
        $environment = New-ChildEnvironment $script:Store
        $script:Crashes = @(foreach ($step in 'plan', 'critique') {
                Start-ChildPwsh $script:RunJob -NoWait -Environment $environment -ArgumentList @(
                    '-Mode', 'Start', '-Workflow', 'research', '-InputText', $script:Request, '-CrashAfter', $step)
            }) | Wait-ChildPwsh
        # A finished job in the same store must not be picked up.
        $script:Done = Start-ArcpJob -Step ([ordered]@{ only = { 'done' } }) -Name 'already-done' -Store $script:Store -ErrorAction Stop
        $script:Interrupted = @(Get-ArcpJob -State Interrupted -Store $script:Store -ErrorAction Stop)
    }

    It 'finds the two jobs whose processes were killed' {
        $script:Crashes.ExitCode | Should -Be @(137, 137)
        $script:Interrupted | Should -HaveCount 2
        $script:Interrupted.Workflow | Should -Be @('research', 'research')
    }

    It 'resumes both to Completed with the reference report, in one pipeline' {
        $warnings = $null
        $resumed = @(Get-ArcpJob -State Interrupted -Store $script:Store | Resume-ArcpJob -WarningVariable warnings -ErrorAction Stop)

        $resumed | Should -HaveCount 2
        @($resumed.JobId | Sort-Object) | Should -Be @($script:Interrupted.JobId | Sort-Object)
        $resumed.State | Should -Be @('Completed', 'Completed')
        foreach ($job in $resumed) {
            $job.Result | Should -BeExactly $script:ReferenceReport
            @(Get-ArcpCheckpoint -JobId $job.JobId -Store $script:Store).Step | Should -Be $script:Steps
        }
        $warnings | Should -BeNullOrEmpty
        Get-ArcpJob -State Interrupted -Store $script:Store | Should -BeNullOrEmpty
        $done = Get-ArcpJob -JobId $script:Done.JobId -Store $script:Store
        $done.State | Should -Be 'Completed'
        $done.UpdatedAt | Should -Be $script:Done.UpdatedAt
    }
}

Describe 'Get-ArcpCheckpoint | Select-Object -Last 1 | Resume-ArcpJob' {
    BeforeAll {
        $script:Store = New-TestStore
        $script:Crashed = Start-ChildPwsh $script:RunJob -Environment (New-ChildEnvironment $script:Store) -ArgumentList @(
            '-Mode', 'Start', '-Workflow', 'research', '-InputText', $script:Request, '-CrashAfter', 'gather')
        $script:JobId = @(Get-ArcpJob -Store $script:Store -ErrorAction Stop)[0].JobId
        $script:Last = Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store | Select-Object -Last 1
        $other = Start-ArcpJob -Step ([ordered]@{ only = { 'other' } }) -Store $script:Store -ErrorAction Stop
        $script:ForeignMessageId = (Get-ArcpCheckpoint -JobId $other.JobId -Store $script:Store).MessageId
        $script:Trace = Join-Path (Split-Path $script:Store) 'binding.trace'
    }

    It 'starts from a job interrupted after gather' {
        $script:Crashed.ExitCode | Should -Be 137 -Because (Format-ChildResult $script:Crashed)
        $script:Last.Step | Should -Be 'gather'
        (Get-ArcpJob -JobId $script:JobId -Store $script:Store).State | Should -Be 'Interrupted'
    }

    It 'uses the piped MessageId as -AfterMessageId (a message of another job is refused, nothing changes)' {
        $err = $null
        $script:Last | Select-Object JobId, CheckpointId, Store, @{ Name = 'MessageId'; Expression = { $script:ForeignMessageId } } |
            Resume-ArcpJob -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'INVALID_ARGUMENT,*ResumeArcpJobCommand'
        "$($err[0])" | Should -Match ([regex]::Escape($script:ForeignMessageId))
        (Get-ArcpJob -JobId $script:JobId -Store $script:Store).State | Should -Be 'Interrupted'
        @(Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store).Step | Should -Be @('plan', 'gather')
    }

    It 'resumes the job from the piped checkpoint, binding JobId, MessageId, CheckpointId and Store' {
        # $env:ARCP_STORE points at a decoy, so the job is only found if Store binds from the checkpoint.
        $resumed = Trace-Command -Name ParameterBinding -FilePath $script:Trace -Expression {
            Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store | Select-Object -Last 1 | Resume-ArcpJob -ErrorAction Stop
        }
        $resumed.JobId | Should -Be $script:JobId
        $resumed.State | Should -Be 'Completed'
        $resumed.Result | Should -BeExactly $script:ReferenceReport
        @(Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store).Step | Should -Be $script:Steps

        $trace = Get-Content -LiteralPath $script:Trace -Raw
        $trace | Should -Match ([regex]::Escape("BIND arg [$($script:Last.MessageId)] to parameter [AfterMessageId]"))
        $trace | Should -Match ([regex]::Escape("BIND arg [$($script:Last.CheckpointId)] to parameter [CheckpointId]"))
        $trace | Should -Match ([regex]::Escape("BIND arg [$($script:Store)] to parameter [Store]"))
    }
}

Describe 'A long inline job: its checkpoints in pages, and a resume from its recorded definition (issue 12)' {
    BeforeAll {
        # More checkpoints than one page of Get-ArcpCheckpoint (200), started with inline -Step in a child that dies
        # after the second-to-last checkpoint: the recorded definition is all a resume in this process has.
        $script:Store = New-TestStore
        $script:Counter = Join-Path (Split-Path $script:Store) 'long-counter.txt'
        $script:StepCount = 205
        $child = @'
$steps = [ordered]@{}
for ($i = 1; $i -lt STEPCOUNT; $i++) {
    $steps["s$i"] = [scriptblock]::Create("Add-Content -LiteralPath `$env:ARCP_TEST_COUNTER -Value ('s$i ' + `$PID); $i")
}
$steps['last'] = { Add-Content -LiteralPath $env:ARCP_TEST_COUNTER -Value "last $PID"; 'done' }
Start-ArcpJob -Step $steps -OnCheckpoint { if ($_.StepIndex -eq STEPCOUNT - 2) { Stop-Process -Id $PID -Force } } | Out-Null
'@
        $script:Crashed = Start-ChildPwsh -ScriptText ("Import-Module '$(Get-ArcpModulePath)'`n" + $child.Replace('STEPCOUNT', "$script:StepCount")) `
            -Environment (New-ChildEnvironment $script:Store @{ ARCP_TEST_COUNTER = $script:Counter })
        $script:JobId = @(Get-ArcpJob -Store $script:Store -ErrorAction Stop)[0].JobId
    }

    It 'Get-ArcpCheckpoint writes every checkpoint in recording order across pages, and -First stops early' {
        $script:Crashed.ExitCode | Should -Be 137 -Because (Format-ChildResult $script:Crashed)
        $all = @(Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store -ErrorAction Stop)
        $all | Should -HaveCount ($script:StepCount - 1)
        $all.StepIndex | Should -Be (0..($script:StepCount - 2))
        $all[-1].Output | Should -Be ($script:StepCount - 1)
        (Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store | Select-Object -First 1).Step | Should -Be 's1'
    }

    It 'A pipeline that stops or fails between pages ends with its own outcome, and the store reads on' {
        # Each page's objects go down the pipeline before the next page is asked for: stopping or failing there must
        # end the reading without turning into another error.
        $firstTwo = @(Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store -ErrorAction Stop | Select-Object -First 2)
        $firstTwo.Step | Should -Be @('s1', 's2')
        $acrossPages = @(Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store -ErrorAction Stop | Select-Object -First 201)
        $acrossPages[-1].StepIndex | Should -Be 200
        { Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store | ForEach-Object { if ($_.StepIndex -eq 3) { throw 'downstream failed here' } } } |
            Should -Throw 'downstream failed here'
        (Get-ArcpCheckpoint -JobId $script:JobId -Store $script:Store -Last 1 -ErrorAction Stop).StepIndex | Should -Be ($script:StepCount - 2)
    }

    It 'Get-ArcpCheckpoint | Select-Object -Last 1 | Resume-ArcpJob runs only the last step, from the recorded steps' {
        $env:ARCP_TEST_COUNTER = $script:Counter
        try {
            $resumed = Get-ArcpCheckpoint $script:JobId -Store $script:Store | Select-Object -Last 1 | Resume-ArcpJob -ErrorAction Stop
        }
        finally {
            $env:ARCP_TEST_COUNTER = $null
        }

        $resumed.State | Should -Be 'Completed'
        $resumed.Result | Should -Be 'done'
        $runs = @(Read-CounterFile $script:Counter)
        $runs.Step | Should -Be @((1..($script:StepCount - 1) | ForEach-Object { "s$_" }) + 'last')
        @($runs | Where-Object Step -EQ 'last').ProcessId | Should -Be $PID
    }
}

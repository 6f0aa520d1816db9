# Bad input to every cmdlet gets an ErrorRecord with a category and a FullyQualifiedErrorId whose first
# part is the ARCP code, and nothing recorded in the store is lost or changed.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ArcpModulePath)

    $script:Folder = New-TestFolder
    # A command that forgot -Store would land in this decoy, never in the user's real default store.
    $script:SavedArcpStore = $env:ARCP_STORE
    $env:ARCP_STORE = Join-Path $script:Folder 'decoy-default.db'

    # The store every rejected command is pointed at: one completed job and one interrupted job.
    $script:Store = Join-Path $script:Folder 'arcp.db'
    $script:StepFile = Get-FixturePath 'counted-steps.ps1'
    $script:Counter = Join-Path $script:Folder 'counter.txt'
    $script:Crash = Start-ChildPwsh (Get-FixturePath 'run-job.ps1') -Environment @{ ARCP_STORE = $script:Store; ARCP_TEST_COUNTER = $script:Counter; ARCP_TEST_KILL_IN_STEP = $null } -ArgumentList @(
        '-Mode', 'Start', '-StepFile', $script:StepFile, '-InputText', '7', '-CrashAfter', 'two')
    $script:InterruptedId = @(Get-ArcpJob -Store $script:Store -ErrorAction Stop)[0].JobId
    $script:Completed = Start-ArcpJob -Step ([ordered]@{ a = { 'A' }; b = { "$_ then B" } }) -Name 'done' -Store $script:Store -ErrorAction Stop
    $script:CompletedCheckpoint = @(Get-ArcpCheckpoint -JobId $script:Completed.JobId -Store $script:Store)[0]
    $script:Snapshot = Get-StoreSnapshot -Store $script:Store

    $script:Cmd = 'Arcp.Resumability.PowerShell.Commands'
    $script:UnknownJob = 'job_01J00000000000000000000000'

    # Runs $Command (which must not pass -ErrorAction) and checks that it was rejected with exactly one
    # ErrorRecord, no output, and an unchanged store. Returns the ErrorRecord.
    function Assert-Rejected {
        param(
            [Parameter(Mandatory)][scriptblock]$Command,
            [Parameter(Mandatory)][string]$ErrorId,
            [Parameter(Mandatory)][string]$Category,
            [string[]]$MessageContains = @(),
            [string]$Store = $script:Store,
            [string]$Snapshot = $script:Snapshot
        )
        $ErrorActionPreference = 'Continue'
        $all = @(& $Command 2>&1)
        $errors = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $output = @($all | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] })
        $errors | Should -HaveCount 1 -Because "the command should report exactly one error; got: $($all -join ' | ')"
        $errors[0].FullyQualifiedErrorId | Should -BeExactly $ErrorId
        "$($errors[0].CategoryInfo.Category)" | Should -Be $Category
        $errors[0].Exception | Should -Not -BeNullOrEmpty
        foreach ($text in $MessageContains) { "$($errors[0])" | Should -Match ([regex]::Escape($text)) }
        $output | Should -BeNullOrEmpty
        if ($Snapshot) { Get-StoreSnapshot -Store $Store | Should -Be $Snapshot -Because 'a rejected command changes nothing recorded' }
        $errors[0]
    }

    function New-WorkflowFile([string]$Content) {
        $path = Join-Path $script:Folder "workflow-$([Guid]::NewGuid().ToString('N')).ps1"
        [IO.File]::WriteAllText($path, $Content)
        $path
    }
}

AfterAll {
    $env:ARCP_STORE = $script:SavedArcpStore
    Remove-TestFolder
}

Describe 'The store the error tests use' {
    It 'holds one interrupted and one completed job' {
        $script:Crash.ExitCode | Should -Be 137 -Because (Format-ChildResult $script:Crash)
        (Get-ArcpJob -JobId $script:InterruptedId -Store $script:Store).State | Should -Be 'Interrupted'
        @(Get-ArcpCheckpoint -JobId $script:InterruptedId -Store $script:Store).Step | Should -Be @('one', 'two')
        $script:Completed.State | Should -Be 'Completed'
    }
}

Describe 'Unknown ids' {
    It 'Get-ArcpJob: unknown job id -> NOT_FOUND / ObjectNotFound' {
        $e = Assert-Rejected { Get-ArcpJob -JobId $script:UnknownJob -Store $script:Store } -ErrorId "NOT_FOUND,$script:Cmd.GetArcpJobCommand" -Category ObjectNotFound -MessageContains $script:UnknownJob
        $e.TargetObject | Should -Be $script:UnknownJob
        { Get-ArcpJob -JobId $script:UnknownJob -Store $script:Store -ErrorAction Stop } | Should -Throw -ErrorId "NOT_FOUND,$script:Cmd.GetArcpJobCommand"
    }

    It 'Get-ArcpCheckpoint: unknown job id -> NOT_FOUND / ObjectNotFound' {
        Assert-Rejected { Get-ArcpCheckpoint -JobId $script:UnknownJob -Store $script:Store } -ErrorId "NOT_FOUND,$script:Cmd.GetArcpCheckpointCommand" -Category ObjectNotFound -MessageContains $script:UnknownJob
    }

    It 'Get-ArcpCheckpoint: unknown checkpoint id -> NOT_FOUND / ObjectNotFound' {
        Assert-Rejected { Get-ArcpCheckpoint -JobId $script:InterruptedId -CheckpointId 'chk_01J00000000000000000000000' -Store $script:Store } -ErrorId "NOT_FOUND,$script:Cmd.GetArcpCheckpointCommand" -Category ObjectNotFound -MessageContains 'chk_01J00000000000000000000000'
    }

    It 'Resume-ArcpJob: unknown job id -> NOT_FOUND / ObjectNotFound (recorded workflow)' {
        Assert-Rejected { Resume-ArcpJob -JobId $script:UnknownJob -Store $script:Store } -ErrorId "NOT_FOUND,$script:Cmd.ResumeArcpJobCommand" -Category ObjectNotFound -MessageContains $script:UnknownJob
        { Resume-ArcpJob -JobId $script:UnknownJob -Store $script:Store -ErrorAction Stop } | Should -Throw -ErrorId "NOT_FOUND,$script:Cmd.ResumeArcpJobCommand"
    }

    It 'Resume-ArcpJob: unknown job id -> NOT_FOUND / ObjectNotFound (-Workflow research)' {
        Assert-Rejected { Resume-ArcpJob -JobId $script:UnknownJob -Workflow research -Store $script:Store } -ErrorId "NOT_FOUND,$script:Cmd.ResumeArcpJobCommand" -Category ObjectNotFound -MessageContains $script:UnknownJob
    }

    It 'Resume-ArcpJob: unknown checkpoint id -> NOT_FOUND, the job stays Interrupted' {
        Assert-Rejected { Resume-ArcpJob -JobId $script:InterruptedId -CheckpointId 'chk_01J00000000000000000000000' -Step (& $script:StepFile) -Store $script:Store } -ErrorId "NOT_FOUND,$script:Cmd.ResumeArcpJobCommand" -Category ObjectNotFound -MessageContains 'chk_01J00000000000000000000000'
        (Get-ArcpJob -JobId $script:InterruptedId -Store $script:Store).State | Should -Be 'Interrupted'
    }

    It 'Resume-ArcpJob: unknown -AfterMessageId -> NOT_FOUND, the job stays Interrupted' {
        Assert-Rejected { Resume-ArcpJob -JobId $script:InterruptedId -AfterMessageId 'msg_01J00000000000000000000000' -Step (& $script:StepFile) -Store $script:Store } -ErrorId "NOT_FOUND,$script:Cmd.ResumeArcpJobCommand" -Category ObjectNotFound -MessageContains 'msg_01J00000000000000000000000'
        (Get-ArcpJob -JobId $script:InterruptedId -Store $script:Store).State | Should -Be 'Interrupted'
    }

    It 'Resume-ArcpJob: a checkpoint of another job -> NOT_FOUND' {
        Assert-Rejected { Resume-ArcpJob -JobId $script:InterruptedId -CheckpointId $script:CompletedCheckpoint.CheckpointId -Step (& $script:StepFile) -Store $script:Store } -ErrorId "NOT_FOUND,$script:Cmd.ResumeArcpJobCommand" -Category ObjectNotFound -MessageContains $script:CompletedCheckpoint.CheckpointId
    }
}

Describe 'Bad workflows and steps' {
    It 'Start-ArcpJob: unknown built-in workflow name -> NOT_FOUND, listing the built-ins' {
        Assert-Rejected { Start-ArcpJob -Workflow 'no-such-workflow' -Store $script:Store } -ErrorId "NOT_FOUND,$script:Cmd.StartArcpJobCommand" -Category ObjectNotFound -MessageContains "'no-such-workflow'", 'research'
    }

    It 'Start-ArcpJob: missing workflow file -> NOT_FOUND' {
        $missing = Join-Path $script:Folder 'missing.ps1'
        Assert-Rejected { Start-ArcpJob -Workflow $missing -Store $script:Store } -ErrorId "NOT_FOUND,$script:Cmd.StartArcpJobCommand" -Category ObjectNotFound -MessageContains $missing
    }

    It 'Resume-ArcpJob: missing workflow file -> NOT_FOUND' {
        $missing = Join-Path $script:Folder 'missing.ps1'
        Assert-Rejected { Resume-ArcpJob -JobId $script:InterruptedId -Workflow $missing -Store $script:Store } -ErrorId "NOT_FOUND,$script:Cmd.ResumeArcpJobCommand" -Category ObjectNotFound -MessageContains $missing
    }

    It 'Start-ArcpJob: a workflow file that <Case> -> INVALID_ARGUMENT' -ForEach @(
        @{ Case = 'returns a number'; Content = '42'; Text = 'must return exactly one hashtable' }
        @{ Case = 'returns nothing'; Content = '$null = 1'; Text = 'must return exactly one hashtable' }
        @{ Case = 'returns two hashtables'; Content = "@{ Name = 'a'; Steps = [ordered]@{ s = { 1 } } }`n@{ Name = 'b'; Steps = [ordered]@{ s = { 1 } } }"; Text = 'must return exactly one hashtable' }
        @{ Case = 'has no Name'; Content = '@{ Steps = [ordered]@{ s = { 1 } } }'; Text = "no 'Name'" }
        @{ Case = 'has no Steps'; Content = "@{ Name = 'x' }"; Text = "no 'Steps'" }
        @{ Case = 'has unordered Steps'; Content = "@{ Name = 'x'; Steps = @{ s = { 1 }; t = { 2 } } }"; Text = 'must be an ordered dictionary' }
        @{ Case = 'has a step that is a string'; Content = "@{ Name = 'x'; Steps = [ordered]@{ s = { 1 }; t = 'Write-Output 2' } }"; Text = "step 't' must be a script block" }
        @{ Case = 'has no steps at all'; Content = "@{ Name = 'x'; Steps = [ordered]@{} }"; Text = 'has no steps' }
        @{ Case = 'throws'; Content = "throw 'workflow file exploded'"; Text = 'workflow file exploded' }
        @{ Case = 'does not parse'; Content = '@{ Name = '; Text = 'failed to load' }
    ) {
        $path = New-WorkflowFile $Content
        Assert-Rejected { Start-ArcpJob -Workflow $path -Store $script:Store } -ErrorId "INVALID_ARGUMENT,$script:Cmd.StartArcpJobCommand" -Category InvalidArgument -MessageContains $Text
    }

    It 'Start-ArcpJob -Step: a plain (unordered) hashtable with two steps -> INVALID_ARGUMENT' {
        Assert-Rejected { Start-ArcpJob -Step @{ a = { 1 }; b = { 2 } } -Store $script:Store } -ErrorId "INVALID_ARGUMENT,$script:Cmd.StartArcpJobCommand" -Category InvalidArgument -MessageContains '[ordered]'
    }

    It 'Start-ArcpJob -Step: a step that is not a script block -> INVALID_ARGUMENT' {
        Assert-Rejected { Start-ArcpJob -Step ([ordered]@{ a = { 1 }; b = 'Write-Output 2' }) -Store $script:Store } -ErrorId "INVALID_ARGUMENT,$script:Cmd.StartArcpJobCommand" -Category InvalidArgument -MessageContains "step 'b' must be a script block"
        Assert-Rejected { Start-ArcpJob -Step ([ordered]@{ a = $null }) -Store $script:Store } -ErrorId "INVALID_ARGUMENT,$script:Cmd.StartArcpJobCommand" -Category InvalidArgument -MessageContains "step 'a' must be a script block"
    }

    It 'Start-ArcpJob -Step: no steps -> INVALID_ARGUMENT' {
        Assert-Rejected { Start-ArcpJob -Step ([ordered]@{}) -Store $script:Store } -ErrorId "INVALID_ARGUMENT,$script:Cmd.StartArcpJobCommand" -Category InvalidArgument -MessageContains 'no steps'
    }

    It 'Resume-ArcpJob -Step: a step that is not a script block -> INVALID_ARGUMENT, the job stays Interrupted' {
        Assert-Rejected { Resume-ArcpJob -JobId $script:InterruptedId -Step ([ordered]@{ one = { 1 }; two = 2 }) -Store $script:Store } -ErrorId "INVALID_ARGUMENT,$script:Cmd.ResumeArcpJobCommand" -Category InvalidArgument -MessageContains "step 'two' must be a script block"
        (Get-ArcpJob -JobId $script:InterruptedId -Store $script:Store).State | Should -Be 'Interrupted'
    }

    It 'Start-ArcpJob: -InputObject that cannot be serialised (<Case>) -> INVALID_ARGUMENT, no job recorded' -ForEach @(
        @{ Case = 'a script block'; Path = '$'; Type = 'ScriptBlock' }
        @{ Case = 'a directory item'; Path = '$'; Type = 'System.IO.DirectoryInfo' }
        @{ Case = 'a hashtable holding a script block'; Path = '$.Callback'; Type = 'ScriptBlock' }
    ) {
        $inputObject = switch ($Case) {
            'a script block' { { 'code' } }
            'a directory item' { Get-Item -LiteralPath $PSHOME }
            default { [ordered]@{ Fine = 1; Callback = { 'code' } } }
        }
        $ran = [System.Collections.Generic.List[string]]::new()
        $steps = [ordered]@{ only = { $ran.Add('only'); 1 }.GetNewClosure() }
        Assert-Rejected { Start-ArcpJob -Step $steps -InputObject $inputObject -Store $script:Store } -ErrorId "INVALID_ARGUMENT,$script:Cmd.StartArcpJobCommand" -Category InvalidArgument -MessageContains '-InputObject', "at $Path ", $Type
        $ran | Should -BeNullOrEmpty -Because 'no step runs for a job that could not be recorded'
    }
}

Describe 'Resuming with the wrong workflow' {
    It 'Resume-ArcpJob -Workflow research on an inline job -> FAILED_PRECONDITION / InvalidOperation, the job stays Interrupted' {
        Assert-Rejected { Resume-ArcpJob -JobId $script:InterruptedId -Workflow research -Store $script:Store } -ErrorId "FAILED_PRECONDITION,$script:Cmd.ResumeArcpJobCommand" -Category InvalidOperation -MessageContains "'inline'", "'research'"
        (Get-ArcpJob -JobId $script:InterruptedId -Store $script:Store).State | Should -Be 'Interrupted'
    }

    It 'Resume-ArcpJob -Step whose steps do not include the checkpointed one -> FAILED_PRECONDITION' {
        Assert-Rejected { Resume-ArcpJob -JobId $script:InterruptedId -Step ([ordered]@{ x = { 1 }; y = { 2 } }) -Store $script:Store } -ErrorId "FAILED_PRECONDITION,$script:Cmd.ResumeArcpJobCommand" -Category InvalidOperation -MessageContains "'two'"
    }

    It 'Resume-ArcpJob without -Step on an inline job with no recorded steps -> INVALID_ARGUMENT asking for the same -Step' -Skip:(-not (Get-Command sqlite3 -ErrorAction Ignore)) {
        # Jobs started locally record their steps; a job from a remote runtime or an older version has no record.
        & sqlite3 $script:Store 'DELETE FROM job_definitions;'
        Assert-Rejected { Resume-ArcpJob -JobId $script:InterruptedId -Store $script:Store } -ErrorId "INVALID_ARGUMENT,$script:Cmd.ResumeArcpJobCommand" -Category InvalidArgument -MessageContains '-Step'
    }
}

Describe 'Bad -Store paths' {
    BeforeAll {
        $script:StoreFolder = New-TestFolder
        $null = New-Item -ItemType File -Path (Join-Path $script:StoreFolder 'keep.txt') -Value 'untouched'
        $script:NotADatabase = Join-Path (New-TestFolder) 'notes.db'
        [IO.File]::WriteAllText($script:NotADatabase, "This is a text file, not a SQLite database.`nLine two.`n")
        $script:NotADatabaseBytes = [IO.File]::ReadAllBytes($script:NotADatabase)
        $script:Commands = @{
            'Start-ArcpJob'      = { param($s) Start-ArcpJob -Step ([ordered]@{ a = { 1 } }) -Store $s }
            'Get-ArcpJob'        = { param($s) Get-ArcpJob -Store $s }
            'Get-ArcpCheckpoint' = { param($s) Get-ArcpCheckpoint -JobId $script:InterruptedId -Store $s }
            'Resume-ArcpJob'     = { param($s) Resume-ArcpJob -JobId $script:InterruptedId -Workflow research -Store $s }
        }
    }

    It '<Cmdlet> -Store pointing at a folder -> UNAVAILABLE / ConnectionError, nothing created in the folder' -ForEach @(
        @{ Cmdlet = 'Start-ArcpJob' }, @{ Cmdlet = 'Get-ArcpJob' }, @{ Cmdlet = 'Get-ArcpCheckpoint' }, @{ Cmdlet = 'Resume-ArcpJob' }
    ) {
        $invoke = $script:Commands[$Cmdlet]
        $id = "UNAVAILABLE,$script:Cmd.$($Cmdlet -replace '-', '')Command"
        Assert-Rejected { & $invoke $script:StoreFolder } -ErrorId $id -Category ConnectionError -MessageContains $script:StoreFolder, 'is a folder' -Snapshot ''
        @(Get-ChildItem -LiteralPath $script:StoreFolder -Force).Name | Should -Be @('keep.txt')
    }

    It '<Cmdlet> -Store at a file that is not a SQLite database -> UNAVAILABLE / ConnectionError, the file is not modified' -ForEach @(
        @{ Cmdlet = 'Start-ArcpJob' }, @{ Cmdlet = 'Get-ArcpJob' }, @{ Cmdlet = 'Get-ArcpCheckpoint' }, @{ Cmdlet = 'Resume-ArcpJob' }
    ) {
        $invoke = $script:Commands[$Cmdlet]
        $id = "UNAVAILABLE,$script:Cmd.$($Cmdlet -replace '-', '')Command"
        Assert-Rejected { & $invoke $script:NotADatabase } -ErrorId $id -Category ConnectionError -MessageContains $script:NotADatabase -Snapshot ''
        [Convert]::ToHexString([IO.File]::ReadAllBytes($script:NotADatabase)) | Should -BeExactly ([Convert]::ToHexString($script:NotADatabaseBytes)) -Because 'the file must not be modified'
        @(Get-ChildItem -LiteralPath (Split-Path $script:NotADatabase) -Force).Name | Should -Be @('notes.db') -Because 'no journal or WAL file is left beside it'
    }
}

Describe 'Parameter validation' {
    It '<Cmdlet> rejects an empty -JobId before doing anything' -ForEach @(
        @{ Cmdlet = 'Get-ArcpJob' }, @{ Cmdlet = 'Get-ArcpCheckpoint' }, @{ Cmdlet = 'Resume-ArcpJob' }
    ) {
        { & $Cmdlet -JobId '' -Store $script:Store } | Should -Throw -ErrorId "ParameterArgumentValidationError,$script:Cmd.$($Cmdlet -replace '-', '')Command"
        Get-StoreSnapshot -Store $script:Store | Should -Be $script:Snapshot
    }

    It 'Get-ArcpJob rejects an unknown -State' {
        { Get-ArcpJob -State Sleeping -Store $script:Store } | Should -Throw -ErrorId 'CannotConvertArgumentNoMessage,Arcp.Resumability.PowerShell.Commands.GetArcpJobCommand'
    }

    It 'Start-ArcpJob rejects an empty -IdempotencyKey and an empty -Name' {
        { Start-ArcpJob -Step ([ordered]@{ a = { 1 } }) -IdempotencyKey '' -Store $script:Store } | Should -Throw -ErrorId "ParameterArgumentValidationError,$script:Cmd.StartArcpJobCommand"
        { Start-ArcpJob -Step ([ordered]@{ a = { 1 } }) -Name '' -Store $script:Store } | Should -Throw -ErrorId "ParameterArgumentValidationError,$script:Cmd.StartArcpJobCommand"
        Get-StoreSnapshot -Store $script:Store | Should -Be $script:Snapshot
    }
}

Describe 'A failing step' {
    BeforeAll {
        $script:FailStore = New-TestStore
        $script:FailRuns = [System.Collections.Generic.List[string]]::new()
        $runs = $script:FailRuns
        $script:FailSteps = [ordered]@{
            fetch = { $runs.Add('fetch'); 'fetched' }.GetNewClosure()
            parse = { $runs.Add('parse'); [pscustomobject]@{ Parsed = "$_!" } }.GetNewClosure()
            boom  = { $runs.Add('boom'); throw [System.InvalidOperationException]::new('the parser ran out of input') }.GetNewClosure()
            never = { $runs.Add('never'); 'must not run' }.GetNewClosure()
        }
        $script:FailErrors = $null
        $script:FailOutput = @(Start-ArcpJob -Step $script:FailSteps -Name 'fails' -Store $script:FailStore -ErrorVariable script:FailErrors -ErrorAction SilentlyContinue)
    }

    It 'writes an UNKNOWN ErrorRecord naming the step and the exception' {
        $script:FailErrors | Should -HaveCount 1
        $script:FailErrors[0].FullyQualifiedErrorId | Should -BeExactly "UNKNOWN,$script:Cmd.StartArcpJobCommand"
        "$($script:FailErrors[0].CategoryInfo.Category)" | Should -Be 'NotSpecified'
        "$($script:FailErrors[0])" | Should -Match "Step 'boom' failed: the parser ran out of input"
    }

    It 'still returns the job, Failed, with the error recorded' {
        $script:FailOutput | Should -HaveCount 1
        $job = $script:FailOutput[0]
        $job.State | Should -Be 'Failed'
        $job.Error.Code | Should -Be 'UNKNOWN'
        $job.Error.Details.step | Should -Be 'boom'
        $job.Error.Details.step_index | Should -Be 2
        (Get-ArcpJob -JobId $job.JobId -Store $script:FailStore).State | Should -Be 'Failed'
    }

    It 'keeps the checkpoints of the steps before it, and runs no step after it' {
        $checkpoints = @(Get-ArcpCheckpoint -JobId $script:FailOutput[0].JobId -Store $script:FailStore -ErrorAction Stop)
        $checkpoints.Step | Should -Be @('fetch', 'parse')
        $checkpoints[1].Output.Parsed | Should -BeExactly 'fetched!'
        @($script:FailRuns) | Should -Be @('fetch', 'parse', 'boom')
    }

    It 'is final: Resume-ArcpJob warns and runs nothing, so the error recommends -Retry, not a plain resume' {
        $jobId = $script:FailOutput[0].JobId
        $before = Get-StoreSnapshot -Store $script:FailStore
        $warnings = $null
        $again = Resume-ArcpJob -JobId $jobId -Step $script:FailSteps -Store $script:FailStore -WarningVariable warnings -WarningAction SilentlyContinue -ErrorAction Stop
        $again.JobId | Should -Be $jobId
        $again.State | Should -Be 'Failed'
        $warnings | Should -HaveCount 1
        "$($warnings[0])" | Should -Match 'already Failed; nothing is left to run'
        @($script:FailRuns) | Should -Be @('fetch', 'parse', 'boom') -Because 'resuming a failed job runs no step'
        Get-StoreSnapshot -Store $script:FailStore | Should -Be $before
        # The advice that comes with the error must match that behaviour.
        $script:FailErrors[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        $script:FailErrors[0].ErrorDetails.RecommendedAction | Should -BeLike '*Resume-ArcpJob -Retry*'
        $script:FailErrors[0].ErrorDetails.RecommendedAction -replace 'Resume-ArcpJob -Retry' | Should -Not -BeLike '*Resume-ArcpJob*'
    }

    It 'throws the same error under -ErrorAction Stop' {
        { Start-ArcpJob -Step ([ordered]@{ boom = { throw 'stop here' } }) -Store $script:FailStore -ErrorAction Stop } |
            Should -Throw -ErrorId "UNKNOWN,$script:Cmd.StartArcpJobCommand"
    }
}

Describe 'After all the rejected commands' {
    It 'the interrupted job still resumes with its own steps and completes' {
        Get-StoreSnapshot -Store $script:Store | Should -Be $script:Snapshot
        $savedCounter = $env:ARCP_TEST_COUNTER
        $env:ARCP_TEST_COUNTER = $script:Counter
        try {
            $job = Resume-ArcpJob -JobId $script:InterruptedId -Step (& $script:StepFile) -Store $script:Store -ErrorAction Stop
        }
        finally {
            $env:ARCP_TEST_COUNTER = $savedCounter
        }
        $job.State | Should -Be 'Completed'
        $job.Result.Value | Should -Be 71234
        @(Read-CounterFile $script:Counter).Step | Should -Be @('one', 'two', 'three', 'four')
        Get-StoreSnapshot -Store $script:Store | Should -Not -Be $script:Snapshot -Because 'the snapshot the other tests compare does see a change'
    }
}

# Steps that talk back ($ArcpStep.ReportProgress/Thought/Log, PowerShell streams as log events) and the
# cmdlets that read jobs back: Get-ArcpEvent, Wait-ArcpJob, Receive-ArcpJob.

BeforeAll {
    if (-not $env:ARCP_MODULE_PATH) { throw 'ARCP_MODULE_PATH is not set; run the tests through ./build.ps1 test.' }
    Import-Module $env:ARCP_MODULE_PATH -Force
    . (Join-Path $PSScriptRoot 'Support/ChildProcess.ps1')
    $script:StoreDir = Join-Path ([IO.Path]::GetTempPath()) "arcp-steps-$([guid]::NewGuid().ToString('n'))"
    $null = New-Item -ItemType Directory -Path $script:StoreDir
    $script:Store = Join-Path $script:StoreDir 'arcp.db'

    $script:TalkingSteps = [ordered]@{
        first  = {
            $ArcpStep.ReportProgress(50, 'half way')
            $ArcpStep.Thought('first, consider the input')
            $ArcpStep.Log('warn', 'explicit log', @{ attempt = 2 })
            Write-Verbose 'a verbose line'
            Write-Warning 'a warning'
            Write-Information 'an information'
            Write-Error 'a non-terminating error' -ErrorAction Continue
            10
        }
        second = { $ArcpStep.Thought('then add one'); $_ + 1 }
    }
    $script:Job = Start-ArcpJob -Store $script:Store -Name talker -Step $script:TalkingSteps -ErrorVariable script:StepErrors -WarningVariable script:StepWarnings -InformationVariable script:StepInformation -ErrorAction SilentlyContinue -WarningAction SilentlyContinue -InformationAction SilentlyContinue
    $script:Events = @(Get-ArcpEvent -Store $script:Store -JobId $script:Job.JobId)
}

AfterAll {
    Remove-Module Arcp.Resumability -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $script:StoreDir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Inside a step' {
    It 'runs the job to completion' {
        $script:Job.State | Should -Be 'Completed'
        $script:Job.Result | Should -Be 11
    }

    It 'hands $null written by a step on as $null output, not as a failure' {
        $nothing = Start-ArcpJob -Store $script:Store -Name nothing -InputObject 5 -Step ([ordered]@{
                empty = { $null }
                check = { param($previous) if ($null -eq $previous) { 'got null' } else { "got $previous" } }
            })
        $nothing.State | Should -Be 'Completed'
        $nothing.Result | Should -Be 'got null'
        (Get-ArcpCheckpoint -Store $script:Store -JobId $nothing.JobId)[0].Output | Should -BeNullOrEmpty
    }

    It 'records ReportProgress as job.progress with the step''s and the job''s percent' {
        $progress = @($script:Events | Where-Object { $_.Type -eq 'job.progress' -and $_.Payload.PSObject.Properties['step_percent'] -and $_.Payload.step_percent -eq 50 })
        $progress.Count | Should -Be 1
        $progress[0].Payload.percent | Should -Be 25
        $progress[0].Payload.step | Should -Be 'first'
        $progress[0].Payload.message | Should -Be 'half way'
    }

    It 'records thoughts as chunks of one thought stream, closed before the job completed' {
        $open = @($script:Events | Where-Object Type -EQ 'stream.open')
        $open.Count | Should -Be 1
        $open[0].Payload.kind | Should -Be 'thought'
        $chunks = @($script:Events | Where-Object Type -EQ 'stream.chunk')
        $chunks.Payload.content | Should -Be @('first, consider the input', 'then add one')
        $chunks.Payload.role | Should -Be @('assistant_thought', 'assistant_thought')
        $chunks.StreamId | Should -Be @($open[0].StreamId, $open[0].StreamId)
        $types = @($script:Events.Type)
        $types.IndexOf('stream.close') | Should -BeLessThan $types.IndexOf('job.completed')
    }

    It 'records $ArcpStep.Log and the PowerShell streams as log events' {
        $logs = @($script:Events | Where-Object Type -EQ 'log')
        $explicit = $logs | Where-Object { $_.Payload.message -eq 'explicit log' }
        $explicit.Payload.level | Should -Be 'warn'
        $explicit.Payload.attributes.attempt | Should -Be 2
        $explicit.Payload.attributes.step | Should -Be 'first'
        $byStream = @{}
        foreach ($log in $logs | Where-Object { $_.Payload.attributes.PSObject.Properties['stream'] }) { $byStream[$log.Payload.attributes.stream] = $log.Payload }
        $byStream['verbose'].level | Should -Be 'debug'
        $byStream['verbose'].message | Should -Be 'a verbose line'
        $byStream['warning'].level | Should -Be 'warn'
        $byStream['information'].message | Should -Be 'an information'
        $byStream['error'].level | Should -Be 'error'
        $byStream['error'].message | Should -Be 'a non-terminating error'
    }

    It 'still passes what the step wrote to the caller''s streams' {
        @($script:StepWarnings | ForEach-Object { "$_" }) | Should -Contain 'a warning'
        @($script:StepInformation | ForEach-Object { "$_" }) | Should -Contain 'an information'
        @($script:StepErrors | ForEach-Object { "$_" }) | Should -Contain 'a non-terminating error'
    }

    It 'fails the step (not the session) when a step method is misused' {
        $job = Start-ArcpJob -Store $script:Store -Step ([ordered]@{ bad = { $ArcpStep.Log('loud', 'x') } }) -ErrorAction SilentlyContinue
        $job.State | Should -Be 'Failed'
        $job.Error.Message | Should -Match 'not a log level'
    }

    It 'records where a throwing step failed: the error id, its category and the script stack trace' {
        $job = Start-ArcpJob -Store $script:Store -Step ([ordered]@{
                fine  = { 1 }
                throw = { Write-Error -Message 'the disk said no' -ErrorId 'Arcp.DiskRefused' -Category WriteError -ErrorAction Stop }
            }) -ErrorAction SilentlyContinue
        $job.State | Should -Be 'Failed'
        $job.Error.Message | Should -BeLike "Step 'throw' failed: *the disk said no*"
        $job.Error.Details.error_id | Should -BeLike 'Arcp.DiskRefused*'
        $job.Error.Details.category | Should -Be 'WriteError'
        $job.Error.Details.script_stack_trace | Should -Not -BeNullOrEmpty
    }
}

Describe 'How a step''s script runs' {
    # What the runner around a step's script block must keep, however it is built: the streams merged and recorded
    # in the order written, PowerShell's error semantics inside a step, and the step's own scope. A step inherits the
    # caller's $ErrorActionPreference, so the steps that test error semantics set their own.

    It 'records the step''s streams in the order it wrote them, and keeps its output apart' {
        $job = Start-ArcpJob -Store $script:Store -Step ([ordered]@{
                talk = { Write-Verbose 'one'; Write-Warning 'two'; 'kept'; Write-Information 'three'; Write-Host 'four'; Write-Error 'five' -ErrorAction Continue; Write-Verbose 'six' }
            }) -ErrorAction SilentlyContinue -WarningAction SilentlyContinue -InformationAction SilentlyContinue
        $job.State | Should -Be 'Completed'
        $job.Result | Should -Be 'kept'
        $streams = @(Get-ArcpEvent -Store $script:Store -JobId $job.JobId | Where-Object { $_.Type -eq 'log' -and $_.Payload.attributes.PSObject.Properties['stream'] })
        @($streams | ForEach-Object { "$($_.Payload.attributes.stream):$($_.Payload.message)" }) |
            Should -Be @('verbose:one', 'warning:two', 'information:three', 'host:four', 'error:five', 'verbose:six')
    }

    It 'fails the step at a statement-terminating error instead of running on' {
        $job = Start-ArcpJob -Store $script:Store -Step ([ordered]@{ divide = { $ErrorActionPreference = 'Continue'; 'before'; 1 / 0; 'after' } }) -ErrorAction SilentlyContinue
        $job.State | Should -Be 'Failed'
        $job.Error.Message | Should -BeLike "Step 'divide' failed: *divide by zero*"
        $job.Error.Details.error_id | Should -Be 'RuntimeException'
    }

    It 'runs on after a non-terminating error, which is recorded, and a trap in the step handles its own errors' {
        $job = Start-ArcpJob -Store $script:Store -Step ([ordered]@{
                missing = { $ErrorActionPreference = 'Continue'; Get-Item -LiteralPath (Join-Path ([IO.Path]::GetTempPath()) "arcp-missing-$([guid]::NewGuid().ToString('n'))"); 'after the error' }
                trapped = { trap { 'trapped'; continue }; 1 / 0; 'after the trap' }
            }) -ErrorAction SilentlyContinue
        $job.State | Should -Be 'Completed'
        $job.Result | Should -Be @('trapped', 'after the trap')
        $errors = @(Get-ArcpEvent -Store $script:Store -JobId $job.JobId | Where-Object { $_.Type -eq 'log' -and $_.Payload.level -eq 'error' })
        $errors.Count | Should -Be 1
        $errors[0].Payload.attributes.step | Should -Be 'missing'
    }

    It 'gives each step its input and a scope of its own, under the caller''s, with Verbose and Information on' {
        $fromCaller = 'seen'
        $job = Start-ArcpJob -Store $script:Store -Step ([ordered]@{
                first  = { $mine = 'first''s own'; [ordered]@{ n = 1; caller = $fromCaller; prefs = "$VerbosePreference/$InformationPreference" } }
                second = { "n=$($_.n) arg=$($args[0].n) caller=$($_.caller) prefs=$($_.prefs) mine=[$(Get-Variable -Name mine -ValueOnly -ErrorAction Ignore)]" }
            })
        $job.State | Should -Be 'Completed'
        $job.Result | Should -Be 'n=1 arg=1 caller=seen prefs=Continue/Continue mine=[]'
        Get-Variable -Name mine -Scope 0 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'Get-ArcpEvent' {
    It 'returns the job''s stream in order, from job.accepted to job.completed' {
        $script:Events[0].Type | Should -Be 'job.accepted'
        $script:Events[-1].Type | Should -Be 'job.completed'
        @($script:Events.Type | Where-Object { $_ -eq 'job.checkpoint' }).Count | Should -Be 2
        $script:Events[-1].JobId | Should -Be $script:Job.JobId
        ($script:Events[-1].Envelope | ConvertFrom-Json).id | Should -Be $script:Events[-1].MessageId
    }

    It 'filters by type with wildcards' {
        $checkpoints = @(Get-ArcpEvent -Store $script:Store -JobId $script:Job.JobId -Type 'job.check*')
        $checkpoints.Count | Should -Be 2
        $checkpoints.Payload.label | Should -Be @('first', 'second')
    }

    It 'reads on after a message id' {
        $middle = $script:Events[3]
        $rest = @(Get-ArcpEvent -Store $script:Store -JobId $script:Job.JobId -After $middle.MessageId)
        $rest.Count | Should -Be ($script:Events.Count - 4)
        $rest[0].MessageId | Should -Be $script:Events[4].MessageId
    }

    It 'binds piped jobs and formats as a table' {
        $text = Get-ArcpJob -Store $script:Store -JobId $script:Job.JobId | Get-ArcpEvent | Format-Table | Out-String -Width 200
        $text | Should -Match 'Timestamp\s+Type\s+Summary'
        $text | Should -Match 'stream\.chunk\s+first, consider the input'
    }

    It 'follows a job another runspace is running until it finishes' {
        $job = Start-ArcpJob -Store $script:Store -Name followed -AsJob -Step ([ordered]@{
                one   = { Start-Sleep -Milliseconds 300; 1 }
                two   = { Start-Sleep -Milliseconds 300; 2 }
                three = { Start-Sleep -Milliseconds 300; 3 }
            })
        $clock = [Diagnostics.Stopwatch]::StartNew()
        while (-not $job.ArcpJobId -and $clock.Elapsed.TotalSeconds -lt 60) { Start-Sleep -Milliseconds 20 }
        $followed = @(Get-ArcpEvent -Store $script:Store -JobId $job.ArcpJobId -Follow)
        $followed[-1].Type | Should -Be 'job.completed'
        @($followed | Where-Object Type -EQ 'job.checkpoint').Count | Should -Be 3
        $job | Wait-Job -Timeout 30 | Remove-Job
    }

    It 'returns at once with -Follow for a finished job' {
        @(Get-ArcpEvent -Store $script:Store -JobId $script:Job.JobId -Follow).Count | Should -Be $script:Events.Count
    }

    It 'reports an unknown job as NOT_FOUND' {
        Get-ArcpEvent -Store $script:Store -JobId job_missing -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NOT_FOUND,*'
    }
}

Describe 'Wait-ArcpJob and Receive-ArcpJob' {
    BeforeAll {
        # A job left behind by a process that died after its first step: interrupted, not finished.
        $crash = Invoke-ChildPwsh $script:StoreDir "Start-ArcpJob -Store '$script:Store' -Name crashed -Step ([ordered]@{ one = { 1 }; two = { 2 } }) -OnCheckpoint { [Environment]::Exit(137) }"
        if ($crash.ExitCode -ne 137) { throw "The crashing child exited with $($crash.ExitCode) instead of 137: $($crash.Output)" }
        $script:Interrupted = Get-ArcpJob -Store $script:Store -Name crashed
    }

    It 'waits for finished jobs and writes them' {
        $jobs = @(Get-ArcpJob -Store $script:Store -JobId $script:Job.JobId | Wait-ArcpJob -Timeout 5)
        $jobs.Count | Should -Be 1
        $jobs[0].State | Should -Be 'Completed'
    }

    It 'ends the wait on an interrupted job with an error naming its state and Resume-ArcpJob, like Wait-Job on a suspended job' {
        $script:Interrupted.State | Should -Be 'Interrupted'
        $out = @(Wait-ArcpJob -Store $script:Store -JobId $script:Interrupted.JobId, $script:Job.JobId -ErrorVariable err -ErrorAction SilentlyContinue)
        $out.JobId | Should -Be @($script:Job.JobId)
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FAILED_PRECONDITION,*'
        $err[0].Exception.Message | Should -Match 'Interrupted'
        $err[0].ErrorDetails.RecommendedAction | Should -Match "Resume-ArcpJob -JobId $($script:Interrupted.JobId)"
        $err[0].TargetObject.JobId | Should -Be $script:Interrupted.JobId
    }

    It 'receives the result of a completed job' {
        Get-ArcpJob -Store $script:Store -JobId $script:Job.JobId | Receive-ArcpJob | Should -Be 11
    }

    It 'receives the error of a failed job' {
        $failed = Start-ArcpJob -Store $script:Store -Step ([ordered]@{ boom = { throw 'kaboom' } }) -ErrorAction SilentlyContinue
        $out = @($failed | Receive-ArcpJob -ErrorVariable err -ErrorAction SilentlyContinue)
        $out.Count | Should -Be 0
        $err[0].FullyQualifiedErrorId | Should -BeLike 'UNKNOWN,*'
        "$err" | Should -Match 'kaboom'
        $err[0].TargetObject.JobId | Should -Be $failed.JobId
    }

    It 'refuses to receive an unfinished job' {
        Receive-ArcpJob -Store $script:Store -JobId $script:Interrupted.JobId -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FAILED_PRECONDITION,*'
    }

    It 'does not wait for an interrupted job with -Wait: nothing would finish it' {
        Receive-ArcpJob -Store $script:Store -JobId $script:Interrupted.JobId -Wait -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'FAILED_PRECONDITION,*'
        $err[0].ErrorDetails.RecommendedAction | Should -Match 'Resume-ArcpJob'
    }
}

# Workers, the durable queue and schedules, with REAL processes: jobs killed with -9 are finished by a worker,
# two workers share one SQLite file (and, each in its own process group, one PostgreSQL store with 40 queued jobs)
# without running a job twice or overshooting a queue's limit, Ctrl+C (a real
# SIGINT) leaves jobs resumable, and a schedule fires once per fire time with three workers awake.
#
# Steps come from Fixtures/worker-workflows/worker-count.ps1, resolved by name through ARCP_WORKFLOW_PATH; each
# finished step body leaves one record file in the counter folder: "<step> <job id> <pid> <start> <end>".

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ArcpModulePath)
    $script:Manifest = Get-ArcpModulePath
    $script:WorkflowFolder = Join-Path $PSScriptRoot 'Fixtures/worker-workflows'

    function New-WorkerCase {
        $folder = New-TestFolder
        $counter = Join-Path $folder 'counter'
        $null = New-Item -ItemType Directory -Path $counter
        [pscustomobject]@{
            Folder  = $folder
            Store   = Join-Path $folder 'arcp.db'
            Counter = $counter
            Marker  = Join-Path $folder 'killed.txt'
        }
    }

    function Get-ChildEnvironment($Case, [hashtable]$Extra = @{}) {
        $environment = @{
            ARCP_STORE = $Case.Store; ARCP_WORKFLOW_PATH = $script:WorkflowFolder; ARCP_TEST_COUNTER = $Case.Counter
            ARCP_TEST_KILL_IN_STEP = $null; ARCP_TEST_KILL_MARKER = $Case.Marker; ARCP_TEST_STEP_MS = $null; ARCP_TEST_LOADS = $null
        }
        foreach ($k in $Extra.Keys) { $environment[$k] = $Extra[$k] }
        $environment
    }

    function Read-StepRecord($Case) {
        Get-ChildItem -LiteralPath $Case.Counter -File | ForEach-Object {
            $step, $job, $processId, $start, $end = (Get-Content -LiteralPath $_.FullName -Raw).Trim() -split ' '
            [pscustomobject]@{ Step = $step; JobId = $job; ProcessId = [int]$processId; Start = [long]$start; End = [long]$end }
        }
    }

    function Get-MaxOverlap([object[]]$Spans) {
        # Sweep over start (+1) and end (-1) events; an end at the same tick as a start comes first.
        $events = foreach ($span in $Spans) { [pscustomobject]@{ At = $span.Start; Delta = 1 }; [pscustomobject]@{ At = $span.End; Delta = -1 } }
        $running = 0; $max = 0
        foreach ($e in ($events | Sort-Object At, Delta)) { $running += $e.Delta; if ($running -gt $max) { $max = $running } }
        $max
    }

    $script:WorkerScript = @'
param([string]$Manifest, [string]$Arguments)
$ErrorActionPreference = 'Stop'
Import-Module $Manifest
$splat = @{}
if ($Arguments) { $splat = Invoke-Expression $Arguments }
$report = Start-ArcpWorker @splat
"REPORT $($report.Started) $($report.Resumed) $($report.Completed) $($report.Failed) $($report.Released)"
'@
}

AfterAll {
    Remove-TestFolder
}

Describe 'Start-ArcpWorker' {
    It 'finishes jobs killed with -9, re-running only the step each was killed in' {
        $case = New-WorkerCase
        $kill = Get-ChildEnvironment $case @{ ARCP_TEST_KILL_IN_STEP = 'two' }
        $crashed = foreach ($n in 1..2) {
            $marker = Join-Path $case.Folder "killed-$n.txt"
            $kill.ARCP_TEST_KILL_MARKER = $marker
            Start-ChildPwsh -ScriptText "Import-Module '$script:Manifest'; Start-ArcpJob -Workflow worker-count -Name crash$n -InputObject $n | Out-Null" -Environment $kill -TimeoutSeconds 120
        }
        $crashed.ExitCode | Should -Not -Contain 0
        @(Get-ArcpJob -Store $case.Store -State Interrupted).Count | Should -Be 2

        $worker = Start-ChildPwsh -ScriptText $script:WorkerScript -ArgumentList $script:Manifest, '@{ ExitWhenIdle = $true; PollSeconds = 0.2; Concurrency = 2 }' -Environment (Get-ChildEnvironment $case) -TimeoutSeconds 120

        $worker.ExitCode | Should -Be 0 -Because $worker.StdErr
        $worker.Output | Should -Contain 'REPORT 0 2 2 0 0'
        @($worker.Output | Where-Object { $_ -match 'resuming job job_\S+ .crash\d. \(worker-count\)' }).Count | Should -Be 2
        @($worker.Output | Where-Object { $_ -match 'completed job job_\S+ .crash\d. \(worker-count\) in [\d.]+ s' }).Count | Should -Be 2
        $jobs = Get-ArcpJob -Store $case.Store
        $jobs.State | Sort-Object -Unique | Should -Be 'Completed'
        ($jobs | Sort-Object Name).Result | Should -Be @(4, 5)
        $records = Read-StepRecord $case
        foreach ($job in $jobs) {
            # 'two' was killed before it finished, so each step finished exactly once.
            ($records | Where-Object JobId -EQ $job.JobId).Step | Sort-Object | Should -Be @('one', 'three', 'two')
        }
    }

    It 'shares one SQLite file with a second worker: no job runs twice and the queue limit holds' {
        $case = New-WorkerCase
        Set-ArcpQueue -Name batch -Concurrency 2 -Store $case.Store
        $queued = 1..10 | ForEach-Object { Start-ArcpJob -Workflow worker-count -Queue batch -InputObject $_ -Store $case.Store }
        $queued.State | Sort-Object -Unique | Should -Be 'Queued'
        @(Get-ArcpJob -Store $case.Store -State Queued).Count | Should -Be 10

        $environment = Get-ChildEnvironment $case @{ ARCP_TEST_STEP_MS = '100' }
        $workers = 1..2 | ForEach-Object {
            Start-ChildPwsh -ScriptText $script:WorkerScript -ArgumentList $script:Manifest, '@{ ExitWhenIdle = $true; PollSeconds = 0.2; Concurrency = 2 }' -Environment $environment -TimeoutSeconds 180 -NoWait
        } | Wait-ChildPwsh

        $workers.ExitCode | Should -Be @(0, 0) -Because ($workers.StdErr -join "`n")
        $jobs = Get-ArcpJob -Store $case.Store
        @($jobs | Where-Object State -EQ 'Completed').Count | Should -Be 10
        $records = Read-StepRecord $case
        @($records).Count | Should -Be 30 -Because 'each of three steps of ten jobs ran exactly once'
        @($records | Group-Object JobId, Step | Where-Object Count -GT 1).Count | Should -Be 0
        # From the first step's start to the last step's end of each job: never more than two at once.
        $spans = $records | Group-Object JobId | ForEach-Object {
            [pscustomobject]@{ Start = ($_.Group | Measure-Object Start -Minimum).Minimum; End = ($_.Group | Measure-Object End -Maximum).Maximum }
        }
        Get-MaxOverlap $spans | Should -BeLessOrEqual 2
        $reports = $workers.Output | Where-Object { $_ -like 'REPORT *' } | ForEach-Object { [int](($_ -split ' ')[1]) }
        ($reports | Measure-Object -Sum).Sum | Should -Be 10 -Because 'the two workers started ten jobs between them'
    }

    It 'leaves the job it was running resumable when stopped with a real Ctrl+C (SIGINT)' -Skip:$IsWindows {
        $case = New-WorkerCase
        $job = Start-ArcpJob -Workflow worker-count -Queue slow -InputObject 1 -Store $case.Store
        $environment = Get-ChildEnvironment $case @{ ARCP_TEST_STEP_MS = '1500' }
        $worker = Start-ChildPwsh -ScriptText $script:WorkerScript -ArgumentList $script:Manifest, '@{ PollSeconds = 0.2 }' -Environment $environment -TimeoutSeconds 120 -NoWait
        # Interrupted in its second step: the first step's checkpoint is committed, not only its body's record written
        # (the commit follows the body by a few milliseconds, more on a loaded machine).
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not (Get-ArcpCheckpoint -JobId $job.JobId -Last 1 -Store $case.Store) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        @(Read-StepRecord $case).Count | Should -BeGreaterThan 0 -Because 'the worker ran the first step'

        $null = & kill -INT $worker.Process.Id
        $result = Wait-ChildPwsh $worker

        # The pipeline is stopped, so there is no report object; the worker's own lines say what happened.
        $result.StdOut | Should -Match 'started job \S+ \(worker-count\)'
        $result.StdOut | Should -Match 'released job \S+ \(worker-count\) after [\d.]+ s; it stays resumable'
        $stopped = Get-ArcpJob -JobId $job.JobId -Store $case.Store
        $stopped.State | Should -Be 'Interrupted'
        $stopped.LastCheckpointId | Should -Not -BeNullOrEmpty

        $again = Start-ChildPwsh -ScriptText $script:WorkerScript -ArgumentList $script:Manifest, '@{ ExitWhenIdle = $true; PollSeconds = 0.2 }' -Environment (Get-ChildEnvironment $case) -TimeoutSeconds 120
        $again.Output | Should -Contain 'REPORT 0 1 1 0 0' -Because $again.StdErr
        (Get-ArcpJob -JobId $job.JobId -Store $case.Store).State | Should -Be 'Completed'
        @(Read-StepRecord $case | Where-Object Step -EQ 'one').Count | Should -Be 1
    }

    It 'takes over a job whose worker was killed with -9 mid-job' {
        $case = New-WorkerCase
        $job = Start-ArcpJob -Workflow worker-count -Queue q -InputObject 7 -Store $case.Store
        $first = Start-ChildPwsh -ScriptText $script:WorkerScript -ArgumentList $script:Manifest, '@{ PollSeconds = 0.2 }' -Environment (Get-ChildEnvironment $case @{ ARCP_TEST_KILL_IN_STEP = 'three' }) -TimeoutSeconds 120
        $first.ExitCode | Should -Not -Be 0
        (Get-ArcpJob -JobId $job.JobId -Store $case.Store).State | Should -Be 'Interrupted'

        $second = Start-ChildPwsh -ScriptText $script:WorkerScript -ArgumentList $script:Manifest, '@{ ExitWhenIdle = $true; PollSeconds = 0.2 }' -Environment (Get-ChildEnvironment $case) -TimeoutSeconds 120

        $second.Output | Should -Contain 'REPORT 0 1 1 0 0' -Because $second.StdErr
        $done = Get-ArcpJob -JobId $job.JobId -Store $case.Store
        $done.State | Should -Be 'Completed'
        $done.Result | Should -Be 10
        (Read-StepRecord $case).Step | Sort-Object | Should -Be @('one', 'three', 'two')
    }

    It 'keeps one session and one loaded workflow per slot: 6 jobs through -Concurrency 2 open 2 sessions' {
        $case = New-WorkerCase
        $loads = (New-Item -ItemType Directory -Path (Join-Path $case.Folder 'loads')).FullName
        $null = 1..6 | ForEach-Object { Start-ArcpJob -Workflow worker-count -Queue reuse -InputObject $_ -Store $case.Store }

        $worker = Start-ChildPwsh -ScriptText $script:WorkerScript -ArgumentList $script:Manifest, '@{ ExitWhenIdle = $true; PollSeconds = 0.2; Concurrency = 2 }' -Environment (Get-ChildEnvironment $case @{ ARCP_TEST_STEP_MS = '10'; ARCP_TEST_LOADS = $loads }) -TimeoutSeconds 120

        $worker.Output | Should -Contain 'REPORT 6 0 6 0 0' -Because $worker.StdErr
        # Queuing opens no session, and this process has not read the store through one yet: every session is the worker's.
        $connection = [Microsoft.Data.Sqlite.SqliteConnection]::new("Data Source=$($case.Store);Mode=ReadOnly;Pooling=False")
        try {
            $connection.Open()
            $command = $connection.CreateCommand()
            $command.CommandText = 'SELECT count(*) FROM sessions;'
            $command.ExecuteScalar() | Should -Be 2 -Because 'each slot keeps its session job after job (one per job before)'
        }
        finally { $connection.Dispose() }
        # The worker loads the workflow once to check it can run the jobs, and each slot once to run them (twice per job before).
        @(Get-ChildItem -LiteralPath $loads -File).Count | Should -Be 3
        @(Get-ArcpJob -Store $case.Store | Where-Object State -EQ 'Completed').Count | Should -Be 6
    }

    It 'claims a job only for an open slot: with -Concurrency 4 the fourth claim comes after the first job''s first step' {
        $case = New-WorkerCase
        $null = 1..4 | ForEach-Object { Start-ArcpJob -Workflow worker-count -Queue open-slots -InputObject $_ -Store $case.Store }

        $worker = Start-ChildPwsh -ScriptText $script:WorkerScript -ArgumentList $script:Manifest, '@{ ExitWhenIdle = $true; PollSeconds = 0.2; Concurrency = 4 }' -Environment (Get-ChildEnvironment $case) -TimeoutSeconds 120

        $worker.Output | Should -Contain 'REPORT 4 0 4 0 0' -Because $worker.StdErr
        $connection = [Microsoft.Data.Sqlite.SqliteConnection]::new("Data Source=$($case.Store);Mode=ReadOnly;Pooling=False")
        try {
            $connection.Open()
            $command = $connection.CreateCommand()
            $command.CommandText = 'SELECT claimed_at FROM job_queue_entries;'
            $reader = $command.ExecuteReader()
            $claims = @(while ($reader.Read()) { [DateTimeOffset]::Parse($reader.GetString(0), [cultureinfo]::InvariantCulture).UtcTicks })
            $reader.Dispose()
        }
        finally { $connection.Dispose() }
        $claims.Count | Should -Be 4
        $firstStep = (Read-StepRecord $case | Measure-Object -Property Start -Minimum).Minimum
        ($claims | Measure-Object -Maximum).Maximum | Should -BeGreaterThan $firstStep -Because 'a job is claimed when a slot can start it, not held while four runspaces open (all four were claimed before any step ran)'
    }

    It 'lets Wait-ArcpJob wait for a queued job until a worker in another process finishes it' {
        $case = New-WorkerCase
        $job = Start-ArcpJob -Workflow worker-count -Queue waits -InputObject 1 -IdempotencyKey 'wait-once' -Store $case.Store
        $again = Start-ArcpJob -Workflow worker-count -Queue waits -InputObject 1 -IdempotencyKey 'wait-once' -Store $case.Store
        $again.JobId | Should -Be $job.JobId
        $worker = Start-ChildPwsh -ScriptText $script:WorkerScript -ArgumentList $script:Manifest, '@{ ExitWhenIdle = $true; PollSeconds = 0.2 }' -Environment (Get-ChildEnvironment $case) -TimeoutSeconds 120 -NoWait

        $finished = Wait-ArcpJob -JobId $job.JobId -Store $case.Store -Timeout 90 -ErrorVariable waitErrors -ErrorAction SilentlyContinue
        $waitErrors | Should -BeNullOrEmpty

        $finished.State | Should -Be 'Completed'
        $finished.Result | Should -Be 4
        (Wait-ChildPwsh $worker).Output | Should -Contain 'REPORT 1 0 1 0 0'
    }

    It 'skips, with a verbose note, an interrupted job whose workflow it cannot resolve' {
        $case = New-WorkerCase
        # Started by name through ARCP_WORKFLOW_PATH, which this (test) process does not have. Not an inline -Step job:
        # those record their steps now, so this worker would resume one here, in the test process.
        $null = Start-ChildPwsh -ScriptText "Import-Module '$script:Manifest'; Start-ArcpJob -Workflow worker-count -InputObject 1 | Out-Null" -Environment (Get-ChildEnvironment $case @{ ARCP_TEST_KILL_IN_STEP = 'two' }) -TimeoutSeconds 120
        @(Get-ArcpJob -Store $case.Store -State Interrupted).Count | Should -Be 1
        $env:ARCP_WORKFLOW_PATH | Should -BeNullOrEmpty -Because 'the worker in this process must not find worker-count'

        $verbose = Start-ArcpWorker -Store $case.Store -ExitWhenIdle -PollSeconds 0.2 -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }

        ($verbose.Message -join "`n") | Should -Match "Skipping job job_\S+ \(worker-count\): There is no workflow named 'worker-count'"
        @(Get-ArcpJob -Store $case.Store -State Interrupted).Count | Should -Be 1
    }
}

Describe 'Start-ArcpWorker on one PostgreSQL store' {
    BeforeAll {
        # A throwaway server of this block's own; when it cannot start (no binaries, not Linux), the test is skipped
        # with the reason rather than failed. setsid gives each worker its own process group (Linux only).
        $script:PgSkipReason = $null
        $script:Pg = $null
        if (-not $IsLinux) { $script:PgSkipReason = 'two worker process groups (setsid) need Linux' }
        else {
            Import-Module (Join-Path $PSScriptRoot 'helpers/ArcpTestProcesses.psm1') -Force
            try { $script:Pg = Start-TestPostgres }
            catch { $script:PgSkipReason = "no PostgreSQL server for this test: $($_.Exception.Message)" }
        }

        # A worker that leads its own process group, so a stuck one is ended with all three processes of `dotnet pwsh`.
        function Start-WorkerGroup([string]$ScriptPath, [string[]]$Arguments, [hashtable]$Environment) {
            $command = Get-ChildPwshCommand
            $start = [Diagnostics.ProcessStartInfo]::new('setsid')
            foreach ($a in @($command.FilePath) + $command.Prefix + @('-NoProfile', '-NonInteractive', '-File', $ScriptPath) + $Arguments) { $start.ArgumentList.Add([string]$a) }
            $start.UseShellExecute = $false
            $start.RedirectStandardOutput = $true
            $start.RedirectStandardError = $true
            $start.Environment['NO_COLOR'] = '1'
            foreach ($key in $Environment.Keys) {
                if ($null -eq $Environment[$key]) { $null = $start.Environment.Remove($key) }
                else { $start.Environment[$key] = [string]$Environment[$key] }
            }
            $process = [Diagnostics.Process]::Start($start)
            [pscustomobject]@{ Process = $process; Out = $process.StandardOutput.ReadToEndAsync(); Err = $process.StandardError.ReadToEndAsync() }
        }
    }

    AfterAll {
        if ($script:Pg) { Stop-TestPostgres $script:Pg }
    }

    It 'two workers drain 40 queued jobs with the queue limit of 2 never exceeded across both' {
        if ($script:PgSkipReason) { Set-ItResult -Skipped -Because $script:PgSkipReason; return }
        $case = New-WorkerCase
        $case.Store = New-TestPostgresStore $script:Pg
        Set-ArcpQueue -Name pgbatch -Concurrency 2 -Store $case.Store
        $queued = 1..40 | ForEach-Object { Start-ArcpJob -Workflow worker-count -Queue pgbatch -InputObject $_ -Store $case.Store }
        @($queued | Where-Object State -EQ 'Queued').Count | Should -Be 40

        # Each worker could run 2 jobs at once (4 in all), so only the queue's fleet-wide limit keeps it at 2.
        # Step bodies sleep 10 ms: the whole drain is bounded by the store, not by the steps.
        $script = Join-Path $case.Folder 'worker.ps1'
        [IO.File]::WriteAllText($script, $script:WorkerScript, [Text.UTF8Encoding]::new($false))
        $environment = Get-ChildEnvironment $case @{ ARCP_TEST_STEP_MS = '10' }
        $arguments = @($script:Manifest, '@{ ExitWhenIdle = $true; PollSeconds = 0.2; Concurrency = 2 }')
        $workers = @(1..2 | ForEach-Object { Start-WorkerGroup $script $arguments $environment })
        $deadline = [DateTime]::UtcNow.AddSeconds(45)
        try {
            foreach ($worker in $workers) {
                $left = [int][Math]::Max(0, ($deadline - [DateTime]::UtcNow).TotalMilliseconds)
                $worker.Process.WaitForExit($left) | Should -BeTrue -Because 'both workers drain the queue and exit well within 45 s'
            }
        }
        finally {
            foreach ($worker in $workers) {
                if (-not $worker.Process.HasExited) { & kill -KILL -- "-$($worker.Process.Id)"; $null = $worker.Process.WaitForExit(10000) }
            }
        }
        $results = foreach ($worker in $workers) {
            $worker.Process.WaitForExit()
            [pscustomobject]@{ ExitCode = $worker.Process.ExitCode; Out = $worker.Out.Result; Err = $worker.Err.Result }
        }

        $results.ExitCode | Should -Be @(0, 0) -Because ($results.Err -join "`n")
        $jobs = @(Get-ArcpJob -Store $case.Store)
        $jobs.Count | Should -Be 40
        @($jobs | Where-Object State -EQ 'Completed').Count | Should -Be 40
        ($jobs | Sort-Object { [int]$_.Result }).Result | Should -Be (4..43) -Because 'each job adds its three steps to its input'
        $records = @(Read-StepRecord $case)
        $records.Count | Should -Be 120 -Because 'each of three steps of 40 jobs ran exactly once'
        @($records | Group-Object JobId, Step | Where-Object Count -GT 1).Count | Should -Be 0
        # setsid execs the worker in place, so each step body's $PID is one of the two workers.
        $records | Where-Object ProcessId -NotIn $workers.Process.Id | Should -BeNullOrEmpty
        # From the first step's start to the last step's end of each job, on one clock: never more than two at once.
        $spans = $records | Group-Object JobId | ForEach-Object {
            [pscustomobject]@{ Start = ($_.Group | Measure-Object Start -Minimum).Minimum; End = ($_.Group | Measure-Object End -Maximum).Maximum }
        }
        Get-MaxOverlap $spans | Should -BeLessOrEqual 2
        $started = $results.Out -split "`r?`n" | Where-Object { $_ -like 'REPORT *' } | ForEach-Object { [int](($_ -split ' ')[1]) }
        @($started).Count | Should -Be 2
        ($started | Measure-Object -Sum).Sum | Should -Be 40 -Because 'the two workers started forty jobs between them'
    }
}

Describe 'Schedules' {
    It 'registers, lists and unregisters a schedule, with -WhatIf leaving it in place' {
        $case = New-WorkerCase
        $schedule = Register-ArcpSchedule -Name nightly -Cron '30 2 * * *' -TimeZone 'Europe/Paris' -Workflow worker-count -InputObject 3 -Missed RunOnce -Store $case.Store

        $schedule.NextFireAt | Should -BeGreaterThan ([DateTimeOffset]::UtcNow)
        $schedule.Input | Should -Be 3
        (Get-ArcpSchedule -Store $case.Store).Name | Should -Be 'nightly'
        (Get-ArcpSchedule night* -Store $case.Store).Missed | Should -Be 'RunOnce'
        Get-ArcpSchedule -Store $case.Store | Unregister-ArcpSchedule -WhatIf
        @(Get-ArcpSchedule -Store $case.Store).Count | Should -Be 1
        Get-ArcpSchedule -Store $case.Store | Unregister-ArcpSchedule -Confirm:$false
        @(Get-ArcpSchedule -Store $case.Store).Count | Should -Be 0
    }

    It 'refuses <Case> with an InvalidArgument error record' -ForEach @(
        @{ Case = 'a bad cron expression'; Cron = '61 * * * *'; Zone = 'UTC' }
        @{ Case = 'an unknown time zone'; Cron = '* * * * *'; Zone = 'Mars/Olympus' }
    ) {
        $case = New-WorkerCase
        Register-ArcpSchedule -Name bad -Cron $Cron -TimeZone $Zone -Workflow worker-count -Store $case.Store -ErrorVariable failure -ErrorAction SilentlyContinue

        $failure[0].FullyQualifiedErrorId | Should -BeLike 'INVALID_ARGUMENT,*'
        $failure[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        @(Get-ArcpSchedule -Store $case.Store).Count | Should -Be 0
    }

    It 'fires a -Step schedule and a worker in another process runs its recorded steps to their result' {
        $case = New-WorkerCase
        # A 6-field cron naming one second a few seconds ahead: exactly one fire time this year. Far enough ahead
        # that a registration slowed by a loaded machine still comes before it (3 s was not always).
        $at = [DateTime]::UtcNow.AddSeconds(6)
        $fire = [DateTimeOffset]::new($at.Ticks - $at.Ticks % [TimeSpan]::TicksPerSecond, [TimeSpan]::Zero)
        $cron = '{0} {1} {2} {3} {4} *' -f $fire.Second, $fire.Minute, $fire.Hour, $fire.Day, $fire.Month
        $steps = [ordered]@{
            double = { $_ * 2 }
            plus   = @{ Run = { $_ + 2 }; MaxAttempts = 2 }
        }
        $schedule = Register-ArcpSchedule -Name steps -Cron $cron -Step $steps -InputObject 20 -Store $case.Store

        $schedule.Workflow | Should -Be 'inline'
        $schedule.NextFireAt | Should -Be $fire
        (Get-ArcpSchedule steps -Store $case.Store).Workflow | Should -Be 'inline'
        $wait = $schedule.NextFireAt - [DateTimeOffset]::UtcNow
        if ($wait -gt [TimeSpan]::Zero) { Start-Sleep -Milliseconds ([int]$wait.TotalMilliseconds + 300) }
        $worker = Start-ChildPwsh -ScriptText $script:WorkerScript -ArgumentList $script:Manifest, '@{ ExitWhenIdle = $true; PollSeconds = 0.2 }' -Environment (Get-ChildEnvironment $case) -TimeoutSeconds 120

        $worker.ExitCode | Should -Be 0 -Because $worker.StdErr
        $worker.Output | Should -Contain 'REPORT 1 0 1 0 0' -Because (($worker.Output + $worker.StdErr) -join "`n")
        $job = Get-ArcpJob -Store $case.Store
        $job.Workflow | Should -Be 'inline'
        $job.State | Should -Be 'Completed'
        (Wait-ArcpJob -JobId $job.JobId -Store $case.Store -Timeout 30).Result | Should -Be 42
    }

    It 'refuses -Step <Case> with an InvalidArgument error record' -ForEach @(
        @{ Case = 'that is not ordered'; Steps = @{ one = { 1 }; two = { 2 } } }
        @{ Case = 'with a policy hashtable without Run'; Steps = [ordered]@{ one = @{ MaxAttempts = 2 } } }
    ) {
        $case = New-WorkerCase
        Register-ArcpSchedule -Name bad -Cron '* * * * *' -Step $Steps -Store $case.Store -ErrorVariable failure -ErrorAction SilentlyContinue

        $failure[0].FullyQualifiedErrorId | Should -BeLike 'INVALID_ARGUMENT,*'
        $failure[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Test-Path -LiteralPath $case.Store | Should -BeFalse -Because 'bad steps are refused before the store is opened'
    }

    It 'fires each fire time once with three workers awake' {
        $case = New-WorkerCase
        $null = Register-ArcpSchedule -Name tick -Cron '*/2 * * * * *' -Workflow worker-count -Store $case.Store
        $loop = @'
param([string]$Manifest)
Import-Module $Manifest
$until = [DateTime]::UtcNow.AddSeconds(7)
while ([DateTime]::UtcNow -lt $until) { $null = Start-ArcpWorker -ExitWhenIdle -PollSeconds 0.1; Start-Sleep -Milliseconds 100 }
'@
        $environment = Get-ChildEnvironment $case @{ ARCP_TEST_STEP_MS = '10' }
        $workers = 1..3 | ForEach-Object { Start-ChildPwsh -ScriptText $loop -ArgumentList $script:Manifest -Environment $environment -TimeoutSeconds 120 -NoWait } | Wait-ChildPwsh
        $workers.ExitCode | Should -Be @(0, 0, 0) -Because ($workers.StdErr -join "`n")

        $runs = Get-ArcpJob -Store $case.Store
        @($runs).Count | Should -BeGreaterOrEqual 2
        @($runs | Group-Object Name | Where-Object Count -GT 1).Count | Should -Be 0 -Because 'a fire time starts one job'
        $runs.Name | Should -Match '^tick \d{4}-\d\d-\d\d \d\d:\d\d:\d[02468]Z$'
    }
}

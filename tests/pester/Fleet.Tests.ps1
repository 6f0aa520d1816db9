# Many processes, one store: SQLite under concurrency, racing resumes, a PostgreSQL fleet draining
# interrupted jobs, a killed worker whose lease runs out, and the retention and removal cmdlets.
# Child processes run helpers/worker.ps1 against the module under test ($env:ARCP_MODULE_PATH).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'helpers/ArcpTestProcesses.psm1') -Force
    Import-Module $env:ARCP_MODULE_PATH -Force
    $ProgressPreference = 'SilentlyContinue'
    $script:Worker = Join-Path $PSScriptRoot 'helpers/worker.ps1'
    $script:Temp = Join-Path ([IO.Path]::GetTempPath()) "arcp-fleet-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $script:Temp

    function Start-Worker([string]$Mode, [string]$Store, [hashtable]$Environment = @{}, [string[]]$More = @()) {
        Start-ArcpChild -ScriptPath $script:Worker -Arguments (@('-Mode', $Mode, '-Store', $Store) + $More) -Environment $Environment
    }

    # Waits for a worker and returns its RESULT objects; a worker that failed fails the test with its output.
    function Receive-Worker($Child, [int]$TimeoutSeconds = 120) {
        $done = Wait-ArcpChild $Child -TimeoutSeconds $TimeoutSeconds
        if ($done.ExitCode -ne 0) { throw "Worker exited with $($done.ExitCode): $($done.Out) $($done.Err)" }
        @($done.Out -split "`r?`n" | Where-Object { $_ -like 'RESULT *' } | ForEach-Object { $_.Substring(7) | ConvertFrom-Json })
    }

    # "<job> <step>" lines of the step logs: one per step body run.
    function Get-StepRun([string[]]$Logs) {
        @($Logs | Where-Object { Test-Path -LiteralPath $_ } | ForEach-Object { Get-Content -LiteralPath $_ } |
                Where-Object { $_ } | ForEach-Object { ($_ -split ' ')[0..1] -join ' ' })
    }

    # A failed test must not leave its workers behind.
    function Stop-Worker([object[]]$Children) {
        foreach ($child in $Children) {
            if (-not $child.Process.HasExited) { $child.Process.Kill($true) }
        }
    }

    function New-SyncFolder([string]$Name) {
        (New-Item -ItemType Directory -Path (Join-Path $script:Temp $Name)).FullName
    }
}

AfterAll {
    Remove-Item -LiteralPath $script:Temp -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'A SQLite store shared by processes' {
    It 'four processes starting five jobs each on one file never see "database is locked"' {
        $store = Join-Path $Temp 'concurrent.db'
        $logs = 1..4 | ForEach-Object { Join-Path $Temp "concurrent-$_.log" }
        $workers = @($logs | ForEach-Object { Start-Worker 'start' $store @{ ARCP_TEST_STEP_LOG = $_ } @('-Count', '5') })

        $results = $workers | ForEach-Object { Receive-Worker $_ }

        @($results | ForEach-Object { $_.errors }) | Should -BeNullOrEmpty
        $jobs = @(Get-ArcpJob -Store $store)
        $jobs.Count | Should -Be 20
        $jobs | Where-Object State -NE 'Completed' | Should -BeNullOrEmpty
        @($jobs | Get-ArcpCheckpoint).Count | Should -Be 60
        $runs = Get-StepRun $logs
        $runs.Count | Should -Be 60
        @($runs | Sort-Object -Unique).Count | Should -Be 60
    }

    It 'two processes racing Resume-ArcpJob on one interrupted job: one drives it, the other gets ABORTED naming it (10 rounds)' {
        $store = Join-Path $Temp 'race.db'
        $created = Receive-Worker (Start-Worker 'create' $store @{ ARCP_TEST_STEP_LOG = (Join-Path $Temp 'race-create.log') } @('-Count', '10'))
        $ids = @($created[0].jobs)
        $ids.Count | Should -Be 10
        $sync = New-SyncFolder 'race'
        $logs = 1..2 | ForEach-Object { Join-Path $Temp "race-$_.log" }
        $racers = @($logs | ForEach-Object {
            Start-Worker 'race' $store @{ ARCP_TEST_STEP_LOG = $_; ARCP_TEST_SLOW_STEP = 'two' } @('-JobIds', ($ids -join ','), '-Sync', $sync)
        })
        $pids = @($racers | ForEach-Object { $_.Process.Id })
        try {
            Wait-Until { @(Get-ChildItem -LiteralPath $sync -Filter 'ready-*').Count -eq 2 } -What 'both racers to load the module'
            foreach ($round in 1..10) {
                $null = New-Item -ItemType File -Path (Join-Path $sync "go-$round")
                Wait-Until { @($pids | Where-Object { Test-Path (Join-Path $sync "done-$round-$_") }).Count -eq 2 } -What "round $round"
            }
            $results = @($racers | ForEach-Object { Receive-Worker $_ })
        }
        finally {
            Stop-Worker $racers
        }

        foreach ($round in 1..10) {
            $pair = @($results | Where-Object round -EQ $round)
            $winner = @($pair | Where-Object { -not $_.error })
            $loser = @($pair | Where-Object { $_.error })
            $winner.Count | Should -Be 1 -Because "exactly one process drives job $($ids[$round - 1]) in round $round"
            $loser.Count | Should -Be 1
            $loser[0].error | Should -BeLike 'ABORTED,*'
            $loser[0].message | Should -Match "ABORTED: Job '$($ids[$round - 1])' is being driven by process $($winner[0].pid) on '[^']+'"
        }
        foreach ($id in $ids) {
            @(Get-ArcpCheckpoint -JobId $id -Store $store).Step | Should -Be @('one', 'two', 'three')
            (Get-ArcpJob -JobId $id -Store $store).State | Should -Be 'Completed'
        }
        $runs = Get-StepRun $logs
        $runs.Count | Should -Be 20
        @($runs | Sort-Object -Unique).Count | Should -Be 20
    }
}

Describe 'A PostgreSQL store shared by a fleet' {
    BeforeAll {
        $script:Pg = Start-TestPostgres
    }

    AfterAll {
        Stop-TestPostgres $script:Pg
    }

    It 'four workers drain 50 interrupted jobs: every job completes once and every step runs once' {
        $store = New-TestPostgresStore $Pg
        $created = Receive-Worker (Start-Worker 'create' $store @{ ARCP_TEST_STEP_LOG = (Join-Path $Temp 'fleet-create.log') } @('-Count', '50'))
        @($created[0].jobs).Count | Should -Be 50
        @(Get-ArcpJob -State Interrupted -Store $store).Count | Should -Be 50
        $logs = 1..4 | ForEach-Object { Join-Path $Temp "fleet-$_.log" }

        $workers = @($logs | ForEach-Object { Start-Worker 'drain' $store @{ ARCP_TEST_STEP_LOG = $_ } })
        $results = @($workers | ForEach-Object { Receive-Worker $_ })

        $results.Count | Should -Be 4
        @($results | ForEach-Object { $_.errors } | Where-Object { $_ -notlike 'ABORTED,*' }) | Should -BeNullOrEmpty
        $jobs = @(Get-ArcpJob -Store $store)
        $jobs.Count | Should -Be 50
        $jobs | Where-Object State -NE 'Completed' | Should -BeNullOrEmpty
        foreach ($job in $jobs) {
            @($job | Get-ArcpCheckpoint).Step | Should -Be @('one', 'two', 'three')
        }
        $runs = Get-StepRun $logs
        $runs.Count | Should -Be 100 -Because 'steps two and three of each job run exactly once across the fleet'
        @($runs | Sort-Object -Unique).Count | Should -Be 100
        @(Get-StepRun (Join-Path $Temp 'fleet-create.log')).Count | Should -Be 50
    }

    It "a killed worker's job stays owned until its lease expires, then finishes elsewhere" {
        $store = New-TestPostgresStore $Pg
        $holdLog = Join-Path $Temp 'hold.log'
        $rescueLog = Join-Path $Temp 'rescue.log'
        $sync = New-SyncFolder 'rescue'
        # Another "machine": the pid check cannot prove the killed process gone, so only lease expiry frees the job.
        # (6 s rather than 3: the rescuer must still find the lease live on a loaded machine.)
        $hold = Start-Worker 'hold' $store @{ ARCP_HOST_ID = 'fleet-host-b'; ARCP_LEASE_SECONDS = '6'; ARCP_TEST_STEP_LOG = $holdLog; ARCP_TEST_SLOW_STEP = 'two'; ARCP_TEST_SLOW_MS = '120000' }
        $rescue = $null
        try {
            Wait-Until { (Test-Path $holdLog) -and ((Get-Content $holdLog) -match ' two ') } -What 'the worker to enter step two'
            $jobId = (@(Get-Content $holdLog)[0] -split ' ')[0]
            $rescue = Start-Worker 'rescue' $store @{ ARCP_LEASE_SECONDS = '6'; ARCP_TEST_STEP_LOG = $rescueLog } @('-JobIds', $jobId, '-Sync', $sync)
            Wait-Until { @(Get-ChildItem -LiteralPath $sync -Filter 'ready-*').Count -eq 1 } -What 'the rescuer to load the module'

            $hold.Process.Kill($true)
            $hold.Process.WaitForExit()
            $null = New-Item -ItemType File -Path (Join-Path $sync 'go')
            $results = Receive-Worker $rescue
        }
        finally {
            Stop-Worker (@($hold) + @($rescue | Where-Object { $_ }))
        }

        $results[0].state | Should -Be 'Running'
        $results[0].owner | Should -Be "fleet-host-b/$($hold.Process.Id)"
        $results[0].error | Should -BeLike 'ABORTED,*'
        $results[0].message | Should -Match "is being driven by process $($hold.Process.Id) on 'fleet-host-b'"
        $results[1].state | Should -Be 'Completed'
        $results[1].waitedSeconds | Should -BeLessThan 20
        @(Get-ArcpCheckpoint -JobId $jobId -Store $store).Step | Should -Be @('one', 'two', 'three')
        Get-StepRun $rescueLog | Should -Be @("$jobId two", "$jobId three")
    }
}

Describe 'Retention and removal' {
    BeforeAll {
        $script:Steps = [ordered]@{ one = { 1 }; two = { 2 }; three = { 3 } }
        $script:CrashAfterOne = { if ($_.Step -eq 'one') { throw 'simulated crash after step one' } }

        function New-InterruptedJob([string]$Store) {
            $script:interrupted = $null
            try {
                Start-ArcpJob -Step $script:Steps -Store $Store -OnCheckpoint { $script:interrupted = $_.JobId; throw 'simulated crash' } | Out-Null
            }
            catch {
                if ("$_" -notmatch 'simulated crash') { throw }
            }
            $script:interrupted
        }
    }

    It 'Invoke-ArcpRetention -WhatIf only counts; without it finished jobs past their window are deleted' {
        $store = Join-Path $Temp 'retention.db'
        1..3 | ForEach-Object { Start-ArcpJob -Step $Steps -Store $store -InputObject $_ } | Out-Null
        $running = New-InterruptedJob $store

        $planned = Invoke-ArcpRetention -Store $store -CompletedJobAge 0 -EventAge 30.00:00:00 -WhatIf
        $planned.Applied | Should -BeFalse
        $planned.JobsRemoved | Should -Be 3
        $planned.CheckpointsRemoved | Should -Be 9
        @(Get-ArcpJob -Store $store).Count | Should -Be 4

        (Invoke-ArcpRetention -Store $store -CompletedJobAge 1 -EventAge 1 -Confirm:$false).EventsPurged | Should -Be 0 -Because 'a bare number means days'
        $applied = Invoke-ArcpRetention -Store $store -CompletedJobAge 0 -Confirm:$false
        $applied.Applied | Should -BeTrue
        $applied.JobsRemoved | Should -Be 3
        @(Get-ArcpJob -Store $store).JobId | Should -Be @($running)
    }

    It 'Resume-ArcpJob warns with DATA_LOSS when retention purged the events, and finishes from the checkpoint' {
        $store = Join-Path $Temp 'data-loss.db'
        $jobId = New-InterruptedJob $store
        (Invoke-ArcpRetention -Store $store -EventAge 0 -Confirm:$false).EventsPurged | Should -BeGreaterThan 0

        $job = Resume-ArcpJob -JobId $jobId -Step $Steps -Store $store -WarningVariable warnings -WarningAction SilentlyContinue

        $job.State | Should -Be 'Completed'
        $job.Result | Should -Be 3
        "$warnings" | Should -Match "DATA_LOSS: Events of job '$jobId' up to sequence \d+ were purged by retention"
        @(Get-ArcpCheckpoint -JobId $jobId -Store $store).Step | Should -Be @('one', 'two', 'three')
    }

    It 'Remove-ArcpJob deletes a job with its history; -WhatIf leaves it' {
        $store = Join-Path $Temp 'remove.db'
        $job = Start-ArcpJob -Step $Steps -Store $store

        $job | Remove-ArcpJob -WhatIf
        @(Get-ArcpCheckpoint -JobId $job.JobId -Store $store).Count | Should -Be 3
        $job | Remove-ArcpJob -Confirm:$false

        @(Get-ArcpJob -Store $store) | Should -BeNullOrEmpty
        Get-ArcpCheckpoint -JobId $job.JobId -Store $store -ErrorAction SilentlyContinue -ErrorVariable missing
        $missing[0].FullyQualifiedErrorId | Should -BeLike 'NOT_FOUND,*'
    }

    It 'a lease setting that cannot work is refused with INVALID_ARGUMENT naming the variable' {
        $env:ARCP_LEASE_SECONDS = '2'
        try {
            Get-ArcpJob -Store (Join-Path $Temp 'settings.db') -ErrorAction SilentlyContinue -ErrorVariable refused
        }
        finally {
            Remove-Item Env:ARCP_LEASE_SECONDS
        }

        $refused[0].FullyQualifiedErrorId | Should -BeLike 'INVALID_ARGUMENT,*'
        "$($refused[0])" | Should -Be "INVALID_ARGUMENT: `$ARCP_LEASE_SECONDS is '2'; it must be a whole number of seconds, at least 3."
    }

    It 'a job whose owner is alive: Resume-ArcpJob -Wait gives up at -Timeout, Remove-ArcpJob refuses it unless -Force' {
        $store = Join-Path $Temp 'remove-live.db'
        $log = Join-Path $Temp 'remove-live.log'
        $hold = Start-Worker 'hold' $store @{ ARCP_TEST_STEP_LOG = $log; ARCP_TEST_SLOW_STEP = 'one'; ARCP_TEST_SLOW_MS = '120000' }
        try {
            Wait-Until { (Test-Path $log) -and @(Get-Content $log) -match ' one ' } -What 'the worker to start its job'
            $jobId = (@(Get-Content $log)[0] -split ' ')[0]

            $watch = [Diagnostics.Stopwatch]::StartNew()
            Resume-ArcpJob -JobId $jobId -Workflow (Join-Path $PSScriptRoot 'helpers/fleet-workflow.ps1') -Store $store -Wait -Timeout 2 -ErrorAction SilentlyContinue -ErrorVariable gaveUp
            $watch.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 2
            $gaveUp[0].FullyQualifiedErrorId | Should -BeLike 'DEADLINE_EXCEEDED,*'
            "$($gaveUp[0])" | Should -Match "DEADLINE_EXCEEDED: Gave up after 2 s waiting for job $jobId`: Job '$jobId' is being driven by process $($hold.Process.Id) on"

            Remove-ArcpJob -JobId $jobId -Store $store -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable refused
            $refused[0].FullyQualifiedErrorId | Should -BeLike 'ABORTED,*'
            "$($refused[0])" | Should -Match "process $($hold.Process.Id) on"
            (Get-ArcpJob -JobId $jobId -Store $store).Owner | Should -BeLike "*/$($hold.Process.Id)"

            Remove-ArcpJob -JobId $jobId -Store $store -Force -Confirm:$false
            @(Get-ArcpJob -Store $store) | Should -BeNullOrEmpty
        }
        finally {
            Stop-Worker @($hold)
        }
    }
}

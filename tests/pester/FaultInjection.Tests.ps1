# Issue 15, fault injection through the cmdlets: a file system that fills up or turns read-only mid-job, SIGTERM and SIGINT to a job's
# process group mid-step, and kill -9 of a runtime host while a client's job runs. Each fault ends in a clear
# ErrorRecord (or a resumable job), nothing recorded is lost, and the job finishes on resume. Linux only (signals,
# process groups, tmpfs); the disk-full and read-only cases need root to mount their small file systems.

BeforeDiscovery {
    $script:IsRoot = $IsLinux -and (& id -u) -eq '0'
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Manifest = Get-ArcpModulePath
    Import-Module $script:Manifest -Force
    $script:Cmd = 'Arcp.Resumability.PowerShell.Commands'
    $script:Work = New-TestFolder -Prefix 'arcp-faults'

    # Three steps; each run appends its name to $env:ARCP_TEST_RUNS. Step two blocks while $env:ARCP_TEST_HOLD names a
    # file that exists, so a signal can reach the process inside the step body.
    $script:StepsText = @'
[ordered]@{
    one   = { param($x) Add-Content -LiteralPath $env:ARCP_TEST_RUNS -Value 'one'; "$x-one" }
    two   = {
        param($x)
        Add-Content -LiteralPath $env:ARCP_TEST_RUNS -Value 'two'
        while ($env:ARCP_TEST_HOLD -and (Test-Path -LiteralPath $env:ARCP_TEST_HOLD)) { Start-Sleep -Milliseconds 100 }
        "$x-two"
    }
    three = { param($x) Add-Content -LiteralPath $env:ARCP_TEST_RUNS -Value 'three'; "$x-three" }
}
'@

    function Read-Runs([string]$Path) { @(if (Test-Path -LiteralPath $Path) { Get-Content -LiteralPath $Path }) }

    function Wait-ForRun([string]$Path, [string]$Step, $Process, [int]$TimeoutSeconds = 90) {
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
        while ((Read-Runs $Path) -notcontains $Step) {
            if ($Process.HasExited) { throw "The job process exited ($($Process.ExitCode)) before step $Step ran." }
            if ([DateTime]::UtcNow -gt $deadline) { throw "Step $Step did not start within $TimeoutSeconds s." }
            Start-Sleep -Milliseconds 100
        }
    }

    # A pwsh that leads its own process group (setsid), so a signal reaches all three processes of `dotnet pwsh`.
    function Start-GroupLeader([string]$ScriptPath, [string[]]$Arguments, [hashtable]$Environment) {
        $command = Get-ChildPwshCommand
        $start = [Diagnostics.ProcessStartInfo]::new('setsid')
        foreach ($a in @($command.FilePath) + $command.Prefix + @('-NoProfile', '-NonInteractive', '-File', $ScriptPath) + $Arguments) { $start.ArgumentList.Add([string]$a) }
        $start.UseShellExecute = $false
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        $start.Environment['NO_COLOR'] = '1'
        foreach ($key in $Environment.Keys) { $start.Environment[$key] = [string]$Environment[$key] }
        $process = [Diagnostics.Process]::Start($start)
        [pscustomobject]@{ Process = $process; Out = $process.StandardOutput.ReadToEndAsync(); Err = $process.StandardError.ReadToEndAsync() }
    }

    # The steps, with a fault injected into the first run of step two only (a marker file remembers that it ran).
    function New-FaultySteps([string]$Marker, [scriptblock]$Fault) {
        $steps = & ([scriptblock]::Create($script:StepsText))
        $run = $steps['two']
        $steps['two'] = {
            param($x)
            if (-not (Test-Path -LiteralPath $Marker)) {
                $null = New-Item -ItemType File -Path $Marker
                & $Fault
            }
            & $run $x
        }.GetNewClosure()
        $steps
    }

    # The job reads Interrupted with only its first checkpoint; the resume runs step two again, then step three.
    function Assert-ResumesAfterStepOne([string]$Store, [string]$Name, [Collections.IDictionary]$Steps, [string]$Runs) {
        $job = Get-ArcpJob -Store $Store -Name $Name -ErrorAction Stop
        $job.State | Should -Be 'Interrupted'
        (Get-ArcpCheckpoint -JobId $job.JobId -Store $Store -ErrorAction Stop).Step | Should -Be @('one')
        $resumed = Resume-ArcpJob -JobId $job.JobId -Step $Steps -Store $Store -ErrorAction Stop
        $resumed.State | Should -Be 'Completed'
        $resumed.Result | Should -Be 'x-one-two-three'
        Read-Runs $Runs | Should -Be @('one', 'two', 'two', 'three') -Because 'only the step whose checkpoint could not be recorded runs again'
        (Get-ArcpCheckpoint -JobId $job.JobId -Store $Store -ErrorAction Stop).Step | Should -Be @('one', 'two', 'three')
    }

    # Start-ArcpJob's one error when the store's file system fails under it: the ARCP code, its category, the store named.
    function Assert-StoreRefusal($Errors, [string]$Code, [string]$Category, [string]$Store) {
        $Errors.Count | Should -Be 1
        $Errors[0].FullyQualifiedErrorId | Should -Be "$Code,$script:Cmd.StartArcpJobCommand"
        $Errors[0].CategoryInfo.Category | Should -Be $Category
        $Errors[0].ErrorDetails.Message | Should -BeLike "${Code}: *The store '$Store' failed: *"
    }

    function Get-IntegrityCheck([string]$Path) {
        $connection = [Microsoft.Data.Sqlite.SqliteConnection]::new("Data Source=$Path;Mode=ReadOnly;Pooling=False")
        try {
            $connection.Open()
            $command = $connection.CreateCommand()
            $command.CommandText = 'PRAGMA integrity_check;'
            [string]$command.ExecuteScalar()
        }
        finally { $connection.Dispose() }
    }
}

AfterAll {
    Remove-TestFolder
}

Describe 'A file system that fills up in the middle of a job' -Skip:(-not $script:IsRoot) {
    BeforeAll {
        $script:Mount = Join-Path $script:Work 'small-fs'
        $null = New-Item -ItemType Directory -Path $script:Mount
        & mount -t tmpfs -o 'size=4m,mode=0700' tmpfs $script:Mount
        if ($LASTEXITCODE -ne 0) { throw "Could not mount a tmpfs at $script:Mount." }
        $script:DiskStore = Join-Path $script:Mount 'arcp.db'
        $script:Filler = Join-Path $script:Mount 'filler'
        $script:DiskRuns = Join-Path $script:Work 'disk-runs.txt'
        $env:ARCP_TEST_RUNS = $script:DiskRuns
        # Step two fills the file system the first time it runs, so its checkpoint finds no space left.
        $filler = $script:Filler
        $script:DiskSteps = New-FaultySteps "$filler.done" {
            $block = [byte[]]::new(65536)
            $stream = [IO.File]::Open($filler, 'CreateNew')
            try { while ($true) { $stream.Write($block, 0, $block.Length); $stream.Flush() } } catch [IO.IOException] { $null = $_ }
            finally { try { $stream.Dispose() } catch [IO.IOException] { $null = $_ } }
        }.GetNewClosure()
    }

    AfterAll {
        Remove-Item Env:ARCP_TEST_RUNS -ErrorAction SilentlyContinue
        [Microsoft.Data.Sqlite.SqliteConnection]::ClearAllPools()
        & umount -l $script:Mount
    }

    It 'stops Start-ArcpJob with RESOURCE_EXHAUSTED / LimitsExceeded naming the store, and the file passes its integrity check' {
        $errors = $null
        $job = Start-ArcpJob -Step $script:DiskSteps -InputObject x -Name disk-full -Store $script:DiskStore -ErrorAction SilentlyContinue -ErrorVariable errors
        $job | Should -BeNullOrEmpty
        Assert-StoreRefusal $errors RESOURCE_EXHAUSTED LimitsExceeded $script:DiskStore
        $errors[0].ErrorDetails.Message | Should -BeLike '*full*'
        $errors[0].ErrorDetails.RecommendedAction | Should -BeLike '*free space*'
        Get-IntegrityCheck $script:DiskStore | Should -Be 'ok'
        Read-Runs $script:DiskRuns | Should -Be @('one', 'two')
    }

    It 'keeps the checkpoint recorded before, and resumes from it once space is freed' {
        Remove-Item -LiteralPath $script:Filler
        Assert-ResumesAfterStepOne $script:DiskStore disk-full $script:DiskSteps $script:DiskRuns
        Get-IntegrityCheck $script:DiskStore | Should -Be 'ok'
    }
}

Describe 'A file system that turns read-only in the middle of a job' -Skip:(-not $script:IsRoot) {
    BeforeAll {
        # `mount -o remount,ro` is refused (busy) while the store's files are open for writing, so the file system
        # turns read-only the way a failing disk makes it: an ext4 image mounted errors=remount-ro gets an error
        # through the kernel's ext4 test hook. ext4 then stays read-only until it is mounted again.
        $script:RoImage = Join-Path $script:Work 'read-only.img'
        $script:RoMount = Join-Path $script:Work 'read-only-fs'
        $script:RoMounted = $false
        $null = New-Item -ItemType Directory -Path $script:RoMount
        $script:RoSkip = $null
        $file = [IO.File]::Create($script:RoImage)
        try { $file.SetLength(16MB) } finally { $file.Dispose() }
        # No journal: with one, the error also aborts the journal, and the next mount would first replay it.
        $made = & mkfs.ext4 -q -F -O '^has_journal' $script:RoImage 2>&1
        if ($LASTEXITCODE -ne 0) { $script:RoSkip = "mkfs.ext4 failed: $made" }
        else {
            $mounted = & mount -o 'loop,errors=remount-ro' $script:RoImage $script:RoMount 2>&1
            if ($LASTEXITCODE -ne 0) { $script:RoSkip = "this machine refuses an ext4 image on a loop device: $mounted" }
            else {
                $script:RoMounted = $true
                $device = Split-Path -Leaf (& findmnt -n -o SOURCE $script:RoMount)
                $script:RoTrigger = "/sys/fs/ext4/$device/trigger_fs_error"
                if (-not (Test-Path -LiteralPath $script:RoTrigger)) { $script:RoSkip = 'this kernel has no ext4 trigger_fs_error hook to turn a file system read-only.' }
            }
        }
        $script:RoStore = Join-Path $script:RoMount 'arcp.db'
        $script:RoRuns = Join-Path $script:Work 'read-only-runs.txt'
        $env:ARCP_TEST_RUNS = $script:RoRuns
        # Step two turns the file system read-only the first time it runs, so its checkpoint cannot be written.
        $trigger = $script:RoTrigger
        $script:RoSteps = New-FaultySteps "$script:RoImage.turned" { [IO.File]::WriteAllText($trigger, 'arcp fault injection') }.GetNewClosure()
    }

    AfterAll {
        Remove-Item Env:ARCP_TEST_RUNS -ErrorAction SilentlyContinue
        [Microsoft.Data.Sqlite.SqliteConnection]::ClearAllPools()
        if ($script:RoMounted) {
            & umount $script:RoMount
            if ($LASTEXITCODE -ne 0) { & umount -l $script:RoMount }
        }
        Remove-Item -LiteralPath $script:RoImage, "$script:RoImage.turned" -ErrorAction SilentlyContinue
    }

    It 'stops Start-ArcpJob with UNAVAILABLE / ConnectionError naming the store' {
        if ($script:RoSkip) { Set-ItResult -Skipped -Because $script:RoSkip; return }
        $errors = $null
        $job = Start-ArcpJob -Step $script:RoSteps -InputObject x -Name read-only -Store $script:RoStore -ErrorAction SilentlyContinue -ErrorVariable errors
        $job | Should -BeNullOrEmpty
        Assert-StoreRefusal $errors UNAVAILABLE ConnectionError $script:RoStore
        $errors[0].ErrorDetails.Message | Should -Not -BeLike '*Exception*'
        Read-Runs $script:RoRuns | Should -Be @('one', 'two')
    }

    It 'keeps the checkpoint recorded before, and resumes from it once the file system is mounted writable again' {
        if ($script:RoSkip) { Set-ItResult -Skipped -Because $script:RoSkip; return }
        [Microsoft.Data.Sqlite.SqliteConnection]::ClearAllPools()
        & umount $script:RoMount
        $LASTEXITCODE | Should -Be 0 -Because 'every connection to the store was closed'
        $script:RoMounted = $false
        & mount -o 'loop,errors=remount-ro' $script:RoImage $script:RoMount
        $LASTEXITCODE | Should -Be 0
        $script:RoMounted = $true
        Get-IntegrityCheck $script:RoStore | Should -Be 'ok'

        Assert-ResumesAfterStepOne $script:RoStore read-only $script:RoSteps $script:RoRuns
        Get-IntegrityCheck $script:RoStore | Should -Be 'ok'
    }
}

Describe 'A signal to the process group of a running job (<Signal>)' -Skip:(-not $IsLinux) -ForEach @(
    @{ Signal = 'TERM' }
    @{ Signal = 'INT' }
) {
    BeforeAll {
        $script:Folder = Join-Path $script:Work "signal-$Signal"
        $null = New-Item -ItemType Directory -Path $script:Folder
        $script:SignalStore = Join-Path $script:Folder 'arcp.db'
        $script:SignalRuns = Join-Path $script:Folder 'runs.txt'
        $script:Hold = Join-Path $script:Folder 'hold'
        $script:JobScript = Join-Path $script:Folder 'job.ps1'
        Set-Content -LiteralPath $script:JobScript -Value @"
param([string]`$Store)
Import-Module `$env:ARCP_TEST_MODULE
`$steps = $script:StepsText
Start-ArcpJob -Step `$steps -InputObject x -Name signalled -Store `$Store | Out-Null
"@
    }

    It 'ends the process, leaves the job resumable with its checkpoint, and the resume runs only what is left' {
        $null = New-Item -ItemType File -Path $script:Hold
        $child = Start-GroupLeader $script:JobScript @($script:SignalStore) @{ ARCP_TEST_MODULE = $script:Manifest; ARCP_TEST_RUNS = $script:SignalRuns; ARCP_TEST_HOLD = $script:Hold }
        try {
            Wait-ForRun $script:SignalRuns 'two' $child.Process
            & kill "-$Signal" -- "-$($child.Process.Id)"
            $child.Process.WaitForExit(30000) | Should -BeTrue -Because "SIG$Signal must end the job's process"
        }
        finally {
            if (-not $child.Process.HasExited) { & kill -KILL -- "-$($child.Process.Id)"; $null = $child.Process.WaitForExit(10000) }
        }
        # pwsh ends on SIGTERM with a failure code; on SIGINT it stops the running pipeline like Ctrl+C and exits normally.
        if ($Signal -eq 'TERM') { $child.Process.ExitCode | Should -Not -Be 0 }

        $job = Get-ArcpJob -Store $script:SignalStore -Name signalled -ErrorAction Stop
        $job.State | Should -Be 'Interrupted'
        (Get-ArcpCheckpoint -JobId $job.JobId -Store $script:SignalStore -ErrorAction Stop).Step | Should -Be @('one')

        Remove-Item -LiteralPath $script:Hold
        $env:ARCP_TEST_RUNS = $script:SignalRuns
        try {
            $resumed = Resume-ArcpJob -JobId $job.JobId -Step (& ([scriptblock]::Create($script:StepsText))) -Store $script:SignalStore -ErrorAction Stop
        }
        finally { Remove-Item Env:ARCP_TEST_RUNS }
        $resumed.State | Should -Be 'Completed'
        $resumed.Result | Should -Be 'x-one-two-three'
        Read-Runs $script:SignalRuns | Should -Be @('one', 'two', 'two', 'three')
    }
}

Describe 'A runtime host killed with kill -9 while a client job runs' -Skip:(-not $IsLinux) {
    BeforeAll {
        $script:HostFolder = Join-Path $script:Work 'host'
        $null = New-Item -ItemType Directory -Path $script:HostFolder
        $script:TokenFile = Join-Path $script:HostFolder 'tokens.txt'
        Set-Content -LiteralPath $script:TokenFile -Value 'tok-alice alice'
        $script:HostStore = Join-Path $script:HostFolder 'runtime.db'
        $script:HostRuns = Join-Path $script:HostFolder 'runs.txt'
        $script:HostHold = Join-Path $script:HostFolder 'hold'
        $script:ClientScript = Join-Path $script:HostFolder 'client.ps1'
        Set-Content -LiteralPath $script:ClientScript -Value @"
param([string]`$Runtime)
Import-Module `$env:ARCP_TEST_MODULE
`$steps = $script:StepsText
`$errors = `$null
`$job = Start-ArcpJob -Runtime `$Runtime -Token tok-alice -Step `$steps -InputObject x -Name host-killed -ErrorAction SilentlyContinue -ErrorVariable errors
foreach (`$e in `$errors) { "ERROR|`$(`$e.FullyQualifiedErrorId)|`$(`$e.CategoryInfo.Category)|`$(`$e.ErrorDetails.Message)" }
if (`$job) { "JOB|`$(`$job.State)" }
"@
        $script:Hosts = [Collections.Generic.List[object]]::new()
    }

    AfterAll {
        foreach ($h in $script:Hosts) { if (-not $h.Process.HasExited) { $h.Process.Kill($true); $null = $h.Process.WaitForExit(10000) } }
    }

    It 'the client reports UNAVAILABLE / ConnectionError, and the job resumes against a new host from its checkpoint' {
        $first = Start-TestRuntimeHost -Manifest $script:Manifest -TokenFile $script:TokenFile -Store $script:HostStore
        $script:Hosts.Add($first)
        $null = New-Item -ItemType File -Path $script:HostHold
        $client = Start-GroupLeader $script:ClientScript @($first.Runtime) @{ ARCP_TEST_MODULE = $script:Manifest; ARCP_TEST_RUNS = $script:HostRuns; ARCP_TEST_HOLD = $script:HostHold }
        try {
            Wait-ForRun $script:HostRuns 'two' $client.Process
            $first.Process.Kill($true)   # SIGKILL to the host and its child processes
            $null = $first.Process.WaitForExit(10000)
            Remove-Item -LiteralPath $script:HostHold   # the step body ends; its checkpoint finds the host gone
            $client.Process.WaitForExit(60000) | Should -BeTrue -Because 'the client must not hang on a dead host'
        }
        finally {
            if (-not $client.Process.HasExited) { $client.Process.Kill($true) }
            Remove-Item -LiteralPath $script:HostHold -ErrorAction SilentlyContinue
        }
        $lines = @(($client.Out.Result -split "`r?`n") | Where-Object { $_ })
        $lines | Should -HaveCount 1 -Because "client output: $($client.Out.Result) $($client.Err.Result)"
        $fields = $lines[0] -split '\|', 4
        $fields[0] | Should -Be 'ERROR'
        $fields[1] | Should -Be "UNAVAILABLE,$script:Cmd.StartArcpJobCommand"
        $fields[2] | Should -Be 'ConnectionError'
        $fields[3] | Should -BeLike 'UNAVAILABLE: *'

        $second = Start-TestRuntimeHost -Manifest $script:Manifest -TokenFile $script:TokenFile -Store $script:HostStore
        $script:Hosts.Add($second)
        $job = Get-ArcpJob -Runtime $second.Runtime -Token tok-alice -Name host-killed -ErrorAction Stop
        $job.State | Should -Be 'Interrupted'
        (Get-ArcpCheckpoint -Runtime $second.Runtime -Token tok-alice -JobId $job.JobId -ErrorAction Stop).Step | Should -Be @('one')

        $env:ARCP_TEST_RUNS = $script:HostRuns
        try {
            $resumed = Resume-ArcpJob -Runtime $second.Runtime -Token tok-alice -JobId $job.JobId -Step (& ([scriptblock]::Create($script:StepsText))) -ErrorAction Stop
        }
        finally { Remove-Item Env:ARCP_TEST_RUNS }
        $resumed.State | Should -Be 'Completed'
        $resumed.Result | Should -Be 'x-one-two-three'
        Read-Runs $script:HostRuns | Should -Be @('one', 'two', 'two', 'three')
        Disconnect-ArcpRuntime
    }
}

Describe 'A PostgreSQL server stopped with an immediate shutdown in the middle of a job' -Skip:(-not $IsLinux -or [bool]$env:ARCP_TEST_POSTGRES) {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'helpers/ArcpTestProcesses.psm1') -Force
        # A cluster of this block's own (never $env:ARCP_TEST_POSTGRES), since the test stops and starts it.
        $script:Pg = Start-TestPostgres
        $script:PgStore = New-TestPostgresStore -Server $script:Pg
        $script:PgRuns = Join-Path $script:Work 'pg-runs.txt'
        $port = [regex]::Match($script:Pg.ConnectionString, 'Port=(\d+)').Groups[1].Value
        $script:PgCtl = {
            param([string[]]$Arguments)
            $path = Join-Path $script:Pg.Bin 'pg_ctl'
            $output = if ($script:Pg.AsPostgres) { & runuser -u postgres -- $path @Arguments 2>&1 } else { & $path @Arguments 2>&1 }
            if ($LASTEXITCODE -ne 0) { throw "pg_ctl $($Arguments -join ' ') failed: $output" }
        }
        $script:PgStart = @('-D', $script:Pg.DataDir, '-w', '-t', '60', '-l', (Join-Path $script:Pg.DataDir 'server.log'), 'start',
            '-o', "-c listen_addresses=127.0.0.1 -p $port -k $($script:Pg.DataDir) -c fsync=off -c max_connections=200")
        $env:ARCP_TEST_RUNS = $script:PgRuns
        $stop = $script:PgCtl
        $dataDir = $script:Pg.DataDir
        $script:PgSteps = New-FaultySteps "$dataDir.stopped" { & $stop @('-D', $dataDir, '-m', 'immediate', '-w', 'stop') }.GetNewClosure()
    }

    AfterAll {
        Remove-Item Env:ARCP_TEST_RUNS -ErrorAction SilentlyContinue
        if ($script:Pg -and $script:Pg.DataDir) {
            Remove-Item -LiteralPath "$($script:Pg.DataDir).stopped" -ErrorAction SilentlyContinue
            if (-not (Test-Path -LiteralPath (Join-Path $script:Pg.DataDir 'postmaster.pid'))) { & $script:PgCtl $script:PgStart }
            Stop-TestPostgres -Server $script:Pg
        }
    }

    It 'Start-ArcpJob and Get-ArcpJob report UNAVAILABLE / ConnectionError; after the restart nothing is lost and the job finishes' {
        $errors = $null
        Start-ArcpJob -Step $script:PgSteps -InputObject x -Name pg-outage -Store $script:PgStore -ErrorAction SilentlyContinue -ErrorVariable errors | Should -BeNullOrEmpty
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be "UNAVAILABLE,$script:Cmd.StartArcpJobCommand"
        $errors[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $errors[0].ErrorDetails.Message | Should -BeLike 'UNAVAILABLE: *postgresql://*'
        $errors[0].ErrorDetails.Message | Should -Not -BeLike '*Exception*'

        $down = $null
        Get-ArcpJob -Store $script:PgStore -ErrorAction SilentlyContinue -ErrorVariable down | Should -BeNullOrEmpty
        $down[0].FullyQualifiedErrorId | Should -Be "UNAVAILABLE,$script:Cmd.GetArcpJobCommand"
        $down[0].CategoryInfo.Category | Should -Be 'ConnectionError'

        & $script:PgCtl $script:PgStart
        Assert-ResumesAfterStepOne $script:PgStore pg-outage $script:PgSteps $script:PgRuns
    }
}

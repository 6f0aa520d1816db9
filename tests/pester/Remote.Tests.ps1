# A runtime host in its own process, clients in others: start a job remotely, kill the client process
# mid-job, resume it from another process, and drive a job the runtime runs itself.

BeforeAll {
    $script:ManifestPath = $env:ARCP_MODULE_PATH
    if (-not $script:ManifestPath) { throw 'ARCP_MODULE_PATH is not set; run the tests through ./build.ps1 test.' }
    Import-Module $script:ManifestPath -Force

    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "arcp-remote-$([guid]::NewGuid().ToString('N'))"
    New-Item -ItemType Directory -Path $script:Work | Out-Null
    $tokenFile = Join-Path $script:Work 'tokens.txt'
    Set-Content -LiteralPath $tokenFile -Value "tok-alice alice admin`ntok-bob bob"

    # pwsh as the current host runs it: through the dotnet host when that is how we were started.
    function script:New-PwshStart([string]$Command) {
        $start = [Diagnostics.ProcessStartInfo]::new([Environment]::ProcessPath)
        if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') {
            $start.ArgumentList.Add((Join-Path $PSHOME 'pwsh.dll'))
        }
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', $Command) { $start.ArgumentList.Add($a) }
        $start.UseShellExecute = $false
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        $start.WorkingDirectory = $script:Work
        $start
    }

    $store = Join-Path $script:Work 'runtime.db'
    $hostCommand = "Import-Module '$script:ManifestPath'; Start-ArcpRuntime -Listen ws://127.0.0.1:0/arcp -Store '$store' -TokenFile '$tokenFile' -Workflow research"
    $script:HostProcess = [Diagnostics.Process]::Start((New-PwshStart $hostCommand))
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    $script:Runtime = $null
    while (-not $script:Runtime -and [DateTime]::UtcNow -lt $deadline) {
        $line = $script:HostProcess.StandardOutput.ReadLine()
        if ($null -eq $line) { break }
        if ($line -match 'listening on (wss?://\S+)') { $script:Runtime = $Matches[1] }
    }
    if (-not $script:Runtime) { throw "The runtime host did not start: $($script:HostProcess.StandardError.ReadToEnd())" }
    # Keep draining the host's output so it never blocks on a full pipe.
    $null = $script:HostProcess.StandardOutput.ReadToEndAsync()
    $null = $script:HostProcess.StandardError.ReadToEndAsync()

    $script:Steps = @'
[ordered]@{
    one   = { param($x) Add-Content -LiteralPath (Join-Path $env:ARCP_TEST_WORK 'runs.txt') -Value 'one'; "$x-one" }
    two   = { param($x) Add-Content -LiteralPath (Join-Path $env:ARCP_TEST_WORK 'runs.txt') -Value 'two'; if ($env:ARCP_TEST_CRASH) { [Environment]::Exit(137) }; "$x-two" }
    three = { param($x) Add-Content -LiteralPath (Join-Path $env:ARCP_TEST_WORK 'runs.txt') -Value 'three'; "$x-three" }
}
'@
}

AfterAll {
    if ($script:HostProcess -and -not $script:HostProcess.HasExited) {
        Stop-ArcpRuntime -Runtime $script:Runtime -Token tok-alice -ErrorAction SilentlyContinue
        if (-not $script:HostProcess.WaitForExit(15000)) { $script:HostProcess.Kill($true) }
    }
    Disconnect-ArcpRuntime
    Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'A remote runtime' {
    It 'keeps a job whose client process was killed, and another process resumes it at the next step' {
        $env:ARCP_TEST_WORK = $script:Work
        $env:ARCP_TEST_CRASH = '1'
        try {
            $client = "Import-Module '$script:ManifestPath'; `$steps = $script:Steps; Start-ArcpJob -Runtime $script:Runtime -Token tok-alice -Step `$steps -InputObject x -Name crashy | Out-Null"
            $crash = [Diagnostics.Process]::Start((New-PwshStart $client))
            $crash.WaitForExit(60000) | Should -BeTrue
            $crash.ExitCode | Should -Be 137
        }
        finally { Remove-Item Env:ARCP_TEST_CRASH }

        # The runtime ends the dead client's session on its own and releases the job.
        $job = $null
        foreach ($i in 1..80) {
            $job = Get-ArcpJob -Runtime $script:Runtime -Token tok-alice -Name crashy
            if ($job.State -eq 'Interrupted') { break }
            Start-Sleep -Milliseconds 250
        }
        $job.State | Should -Be 'Interrupted'
        (Get-ArcpCheckpoint -Runtime $script:Runtime -Token tok-alice -JobId $job.JobId).Step | Should -Be @('one')

        $resume = "Import-Module '$script:ManifestPath'; `$steps = $script:Steps; Resume-ArcpJob -Runtime $script:Runtime -Token tok-alice -JobId $($job.JobId) -Step `$steps | ForEach-Object { `$_.State.ToString() + '|' + `$_.Result }"
        $second = [Diagnostics.Process]::Start((New-PwshStart $resume))
        $output = $second.StandardOutput.ReadToEnd()
        $second.WaitForExit(60000) | Should -BeTrue
        $output.Trim() | Should -Be 'Completed|x-one-two-three'
        Get-Content -LiteralPath (Join-Path $script:Work 'runs.txt') | Should -Be @('one', 'two', 'two', 'three')
    }

    It 'hides one principal''s jobs from another' {
        $job = Get-ArcpJob -Runtime $script:Runtime -Token tok-alice -Name crashy
        Get-ArcpJob -Runtime $script:Runtime -Token tok-bob | Should -BeNullOrEmpty
        { Get-ArcpJob -Runtime $script:Runtime -Token tok-bob -JobId $job.JobId -ErrorAction Stop } | Should -Throw -ErrorId 'NOT_FOUND*'
    }

    It 'runs a registered workflow itself for a client that only starts and watches it' {
        Connect-ArcpRuntime -Runtime $script:Runtime -Token tok-alice
        $job = Start-ArcpJob -Workflow research -InputObject 'How do leases and fencing tokens work?' -OnRuntime -Name thin
        $job.State | Should -Be 'Running'
        $job.Store | Should -Be $script:Runtime
        foreach ($i in 1..120) {
            $job = $job | Get-ArcpJob
            if ($job.State -ne 'Running') { break }
            Start-Sleep -Milliseconds 250
        }
        $job.State | Should -Be 'Completed'
        ($job | Get-ArcpCheckpoint).Step | Should -Be @('plan', 'gather', 'synthesize', 'critique', 'finalize')
    }

    It 'refuses -Store together with -Runtime, and a bad token' {
        { Get-ArcpJob -Store (Join-Path $script:Work 'x.db') -Runtime $script:Runtime -ErrorAction Stop } | Should -Throw -ErrorId 'INVALID_ARGUMENT*'
        { Get-ArcpJob -Runtime $script:Runtime -Token nope -ErrorAction Stop } | Should -Throw -ErrorId 'UNAUTHENTICATED*'
    }

    It 'is stopped by Stop-ArcpRuntime from an admin principal only' {
        { Stop-ArcpRuntime -Runtime $script:Runtime -Token tok-bob -ErrorAction Stop } | Should -Throw -ErrorId 'PERMISSION_DENIED*'
        Stop-ArcpRuntime -Runtime $script:Runtime -Token tok-alice
        $script:HostProcess.WaitForExit(20000) | Should -BeTrue
        $script:HostProcess.ExitCode | Should -Be 0
    }
}

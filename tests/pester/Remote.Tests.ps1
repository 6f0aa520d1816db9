# A runtime host in its own process, clients in others: start a job remotely, kill the client process
# mid-job, resume it from another process, and have the runtime run a job for a thin client.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Manifest = Get-ArcpModulePath
    Import-Module $script:Manifest

    $script:Work = New-TestFolder -Prefix 'arcp-remote'
    $tokenFile = Join-Path $script:Work 'tokens.txt'
    Set-Content -LiteralPath $tokenFile -Value "tok-alice alice admin`ntok-bob bob"
    $store = Join-Path $script:Work 'runtime.db'

    # The host stays up for the whole file, so it is started by hand rather than with Start-ChildPwsh.
    $runtimeHost = Start-TestRuntimeHost -Manifest $script:Manifest -TokenFile $tokenFile -Store $store -ExtraArguments '-Workflow research'
    $script:HostProcess = $runtimeHost.Process
    $script:Runtime = $runtimeHost.Runtime

    # Inline steps shared by the crashing client and the resuming one; each run is counted in a file.
    $script:ClientScript = @'
param([string]$Mode, [string]$Runtime, [string]$JobId)
Import-Module $env:ARCP_TEST_MODULE
$steps = [ordered]@{
    one   = { param($x) Add-Content -LiteralPath $env:ARCP_TEST_RUNS -Value 'one'; "$x-one" }
    two   = { param($x) Add-Content -LiteralPath $env:ARCP_TEST_RUNS -Value 'two'; if ($env:ARCP_TEST_CRASH) { [Environment]::Exit(137) }; "$x-two" }
    three = { param($x) Add-Content -LiteralPath $env:ARCP_TEST_RUNS -Value 'three'; "$x-three" }
}
$job = if ($Mode -eq 'start') { Start-ArcpJob -Runtime $Runtime -Token tok-alice -Step $steps -InputObject x -Name crashy }
       else { Resume-ArcpJob -Runtime $Runtime -Token tok-alice -JobId $JobId -Step $steps }
"$($job.State)|$($job.Result)"
'@
    $script:Runs = Join-Path $script:Work 'runs.txt'
    $script:ClientEnvironment = @{ ARCP_TEST_MODULE = $script:Manifest; ARCP_TEST_RUNS = $script:Runs }
}

AfterAll {
    if ($script:HostProcess -and -not $script:HostProcess.HasExited) {
        Stop-ArcpRuntime -Runtime $script:Runtime -Token tok-alice -ErrorAction SilentlyContinue
        if (-not $script:HostProcess.WaitForExit(15000)) { $script:HostProcess.Kill($true) }
    }
    Disconnect-ArcpRuntime
    Remove-TestFolder
}

Describe 'A remote runtime' {
    It 'keeps a job whose client process was killed, and another process resumes it at the next step' {
        $crash = Start-ChildPwsh -ScriptText $script:ClientScript -ArgumentList 'start', $script:Runtime -Environment ($script:ClientEnvironment + @{ ARCP_TEST_CRASH = '1' }) -TimeoutSeconds 120
        $crash.ExitCode | Should -Be 137 -Because (Format-ChildResult $crash)

        # The runtime ends the dead client's session by itself and releases the job.
        $job = $null
        foreach ($i in 1..80) {
            $job = Get-ArcpJob -Runtime $script:Runtime -Token tok-alice -Name crashy
            if ($job.State -eq 'Interrupted') { break }
            Start-Sleep -Milliseconds 250
        }
        $job.State | Should -Be 'Interrupted'
        (Get-ArcpCheckpoint -Runtime $script:Runtime -Token tok-alice -JobId $job.JobId).Step | Should -Be @('one')

        $resumed = Start-ChildPwsh -ScriptText $script:ClientScript -ArgumentList 'resume', $script:Runtime, $job.JobId -Environment $script:ClientEnvironment -TimeoutSeconds 120
        $resumed.ExitCode | Should -Be 0 -Because (Format-ChildResult $resumed)
        $resumed.Output | Should -Be @('Completed|x-one-two-three')
        Get-Content -LiteralPath $script:Runs | Should -Be @('one', 'two', 'two', 'three') -Because 'only the step that was cut off runs again'
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
        $job = $job | Wait-ArcpJob -Timeout 60
        $job.State | Should -Be 'Completed'
        ($job | Get-ArcpCheckpoint).Step | Should -Be @('plan', 'gather', 'synthesize', 'critique', 'finalize')
        (Get-ArcpEvent -JobId $job.JobId -Type job.completed).Type | Should -Be 'job.completed'
    }

    It 'cancels a job through the runtime with Stop-ArcpJob' {
        $started = Start-ChildPwsh -ScriptText @'
param([string]$Runtime)
Import-Module $env:ARCP_TEST_MODULE
$steps = [ordered]@{ one = { 1 }; two = { [Environment]::Exit(137) } }
Start-ArcpJob -Runtime $Runtime -Token tok-alice -Step $steps -Name abandoned | Out-Null
'@ -ArgumentList $script:Runtime -Environment $script:ClientEnvironment -TimeoutSeconds 120
        $started.ExitCode | Should -Be 137 -Because (Format-ChildResult $started)
        $abandoned = $null
        foreach ($i in 1..80) {
            $abandoned = Get-ArcpJob -Runtime $script:Runtime -Token tok-alice -Name abandoned
            if ($abandoned.State -eq 'Interrupted') { break }
            Start-Sleep -Milliseconds 250
        }
        $stopped = $abandoned | Stop-ArcpJob -Token tok-alice -Reason cleanup -PassThru -Confirm:$false
        $stopped.State | Should -Be 'Cancelled'
        $stopped.Store | Should -Be $script:Runtime
    }

    It 'runs -AsJob against the runtime with the token it was given' {
        $background = Start-ArcpJob -Runtime $script:Runtime -Token tok-alice -Step ([ordered]@{ a = { 'a' }; b = { "$_-b" } }) -Name in-background -AsJob
        $null = $background | Wait-Job -Timeout 120
        $job = $background | Receive-Job
        $background | Remove-Job
        $job.State | Should -Be 'Completed'
        $job.Result | Should -Be 'a-b'
        $job.Store | Should -Be $script:Runtime
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

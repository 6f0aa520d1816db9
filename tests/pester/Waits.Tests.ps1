# The five waiting cmdlets wait on §13 subscriptions, for jobs another process drives: through the embedded
# runtime (each process has its own over the same SQLite file, so only the store carries the news) and
# through a remote runtime host. A driver child process runs a job whose second step holds until a gate file
# appears; the test opens the gate, or kills the driver, while a cmdlet waits.

BeforeDiscovery {
    $script:Places = @(@{ Place = 'embedded' }, @{ Place = 'remote' })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Manifest = Get-ArcpModulePath
    Import-Module $script:Manifest

    $script:Work = New-TestFolder -Prefix 'arcp-waits'
    $script:PreviousGateFolder = $env:ARCP_WAIT_DIR
    # The steps find their gate files through this; the resuming test process runs the same step text.
    $env:ARCP_WAIT_DIR = $script:Work

    $tokenFile = Join-Path $script:Work 'tokens.txt'
    Set-Content -LiteralPath $tokenFile -Value 'tok-alice alice'
    $hostStore = Join-Path $script:Work 'runtime.db'
    $runtimeHost = Start-TestRuntimeHost -Manifest $script:Manifest -TokenFile $tokenFile -Store $hostStore
    $script:HostProcess = $runtimeHost.Process
    $script:Runtime = $runtimeHost.Runtime

    # Step 'two' announces itself and holds until its gate file exists; the job's input names both files.
    $script:Steps = [ordered]@{
        one   = { param($x) $x }
        two   = {
            param($x)
            Set-Content -LiteralPath (Join-Path $env:ARCP_WAIT_DIR "$x.started") -Value $PID
            while (-not (Test-Path -LiteralPath (Join-Path $env:ARCP_WAIT_DIR "$x.go"))) { Start-Sleep -Milliseconds 100 }
            $x
        }
        three = { param($x) "$x-done" }
    }
    $script:DriverScript = @'
param([string]$Name)
Import-Module $env:ARCP_TEST_MODULE
$where = if ($env:ARCP_WAIT_RUNTIME) { @{ Runtime = $env:ARCP_WAIT_RUNTIME; Token = 'tok-alice' } } else { @{ Store = $env:ARCP_WAIT_STORE } }
$steps = [ordered]@{
'@ + ($script:Steps.GetEnumerator() | ForEach-Object { "    $($_.Key) = {$($_.Value)}`n" }) + @'
}
$job = Start-ArcpJob @where -Step $steps -InputObject $Name -Name $Name
"$($job.State)|$($job.Result)"
'@

    function script:Get-Where([string]$Place) {
        if ($Place -eq 'remote') { @{ Runtime = $script:Runtime; Token = 'tok-alice' } } else { @{ Store = (Join-Path $script:Work 'embedded.db') } }
    }

    function script:Start-Driver([string]$Place, [string]$Name) {
        $environment = @{ ARCP_TEST_MODULE = $script:Manifest; ARCP_WAIT_DIR = $script:Work }
        if ($Place -eq 'remote') { $environment.ARCP_WAIT_RUNTIME = $script:Runtime } else { $environment.ARCP_WAIT_STORE = (Join-Path $script:Work 'embedded.db') }
        $driver = Start-ChildPwsh -ScriptText $script:DriverScript -ArgumentList $Name -Environment $environment -TimeoutSeconds 300 -NoWait
        Wait-Until -TimeoutSeconds 120 -What "the driver of $Name to reach step two" { Test-Path -LiteralPath (Join-Path $script:Work "$Name.started") }
        $where = Get-Where $Place
        $job = Get-ArcpJob @where -Name $Name
        $job.State | Should -Be 'Running'
        [pscustomobject]@{ Child = $driver; JobId = $job.JobId }
    }

    function script:Wait-Until([scriptblock]$Condition, [int]$TimeoutSeconds, [string]$What) {
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out after $TimeoutSeconds s waiting for $What." }
            Start-Sleep -Milliseconds 100
        }
    }

    # Opens a gate, or kills a process tree, from another thread after a delay, returning when it did so.
    function script:Start-Later([int]$Seconds, [string]$Gate, [int]$KillProcessId) {
        Start-ThreadJob -ArgumentList $Seconds, $Gate, $KillProcessId {
            param($seconds, $gate, $kill)
            Start-Sleep -Seconds $seconds
            if ($kill) { [Diagnostics.Process]::GetProcessById($kill).Kill($true) }
            if ($gate) { $null = New-Item -ItemType File -Path $gate -Force }
            [DateTime]::UtcNow
        }
    }

    function script:Start-Waiter([hashtable]$Where, [scriptblock]$Body, [object[]]$Arguments) {
        Start-ThreadJob -ArgumentList (@($script:Manifest, $Where) + $Arguments) -ScriptBlock ([scriptblock]::Create(
            "param(`$manifest, `$where, `$a, `$b) Import-Module `$manifest; `$ErrorActionPreference = 'Stop'; & { $Body } `$where `$a `$b"))
    }
}

AfterAll {
    if ($script:HostProcess -and -not $script:HostProcess.HasExited) {
        Stop-ArcpRuntime -Runtime $script:Runtime -Token tok-alice -ErrorAction SilentlyContinue
        if (-not $script:HostProcess.WaitForExit(15000)) { $script:HostProcess.Kill($true) }
    }
    $env:ARCP_WAIT_DIR = $script:PreviousGateFolder
    Remove-TestFolder
}

Describe 'Waiting on jobs driven by another process (<Place> runtime)' -ForEach $script:Places {
    BeforeAll {
        $script:Where = Get-Where $Place
    }

    It 'Wait-ArcpJob, Receive-ArcpJob -Wait and Get-ArcpEvent -Follow all see the job finish' {
        $name = "finish-$Place"
        $driver = Start-Driver $Place $name
        $receiver = Start-Waiter $script:Where { param($where, $id) Receive-ArcpJob @where -JobId $id -Wait } $driver.JobId
        $follower = Start-Waiter $script:Where { param($where, $id) Get-ArcpEvent @where -JobId $id -Follow | ForEach-Object Type } $driver.JobId
        $gate = Start-Later 3 (Join-Path $script:Work "$name.go")

        $finished = Wait-ArcpJob @script:Where -JobId $driver.JobId -Timeout 240

        $finished.State | Should -Be 'Completed'
        $finished.Result | Should -Be "$name-done"
        $receiver | Wait-Job -Timeout 240 | Receive-Job | Should -Be "$name-done"
        $types = @($follower | Wait-Job -Timeout 240 | Receive-Job)
        $types[-1] | Should -Be 'job.completed'
        @($types | Where-Object { $_ -eq 'job.checkpoint' }).Count | Should -Be 3
        (Wait-ChildPwsh $driver.Child).Output | Should -Be @("Completed|$name-done")
        $gate, $receiver, $follower | Remove-Job -Force
    }

    It 'Stop-ArcpJob waits until the owner in another process stops at its next checkpoint' {
        $name = "stop-$Place"
        $driver = Start-Driver $Place $name
        $gate = Start-Later 3 (Join-Path $script:Work "$name.go")

        $stopped = Stop-ArcpJob @script:Where -JobId $driver.JobId -Reason 'test' -DeadlineSeconds 240 -PassThru -Confirm:$false -WarningVariable warnings

        $stopped.State | Should -Be 'Cancelled'
        $warnings | Should -BeNullOrEmpty
        (Get-ArcpCheckpoint @script:Where -JobId $driver.JobId).Step | Should -Be @('one', 'two')
        $null = Wait-ChildPwsh $driver.Child
        $gate | Remove-Job -Force
    }

    It 'Wait-ArcpJob and Receive-ArcpJob -Wait return promptly when the owner process is killed, naming the way on' {
        $name = "killed-$Place"
        $driver = Start-Driver $Place $name
        $receiver = Start-Waiter $script:Where { param($where, $id) Receive-ArcpJob @where -JobId $id -Wait -ErrorAction SilentlyContinue -ErrorVariable failed; $failed | ForEach-Object { $_.Exception.Message } } $driver.JobId
        $kill = Start-Later 3 -KillProcessId $driver.Child.Process.Id

        $result = Wait-ArcpJob @script:Where -JobId $driver.JobId -Timeout 240 -ErrorAction SilentlyContinue -ErrorVariable failures
        $returnedAt = [DateTime]::UtcNow

        $result | Should -BeNullOrEmpty
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'FAILED_PRECONDITION,*'
        $failures[0].Exception.Message | Should -Match 'Interrupted'
        $failures[0].ErrorDetails.RecommendedAction | Should -Match "Resume-ArcpJob -JobId $($driver.JobId)"
        $killedAt = $kill | Wait-Job -Timeout 60 | Receive-Job
        ($returnedAt - $killedAt).TotalSeconds | Should -BeLessThan 15 -Because 'the runtime notices a dead owner by itself, with no lease to run out'
        $receiver | Wait-Job -Timeout 60 | Receive-Job | Should -Match "Interrupted.*Resume-ArcpJob -JobId $($driver.JobId)"
        $kill, $receiver | Remove-Job -Force
    }

    It 'Resume-ArcpJob -Wait waits for the live owner to let go, then finishes the job' {
        $name = "resume-$Place"
        $driver = Start-Driver $Place $name
        $later = Start-Later 6 (Join-Path $script:Work "$name.go") $driver.Child.Process.Id

        $resumed = Resume-ArcpJob @script:Where -JobId $driver.JobId -Step $script:Steps -Wait -Timeout 240 -Verbose 4>&1
        $verbose = @($resumed | Where-Object { $_ -is [Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $job = @($resumed | Where-Object { $_ -isnot [Management.Automation.VerboseRecord] })[-1]

        $verbose -join "`n" | Should -Match 'Waiting for the lease to end'
        $job.State | Should -Be 'Completed'
        $job.Result | Should -Be "$name-done"
        $later | Wait-Job -Timeout 60 | Remove-Job -Force
    }

    It 'Wait-ArcpJob -Timeout ends with a timeout error that says what to do' {
        $name = "timeout-$Place"
        $driver = Start-Driver $Place $name

        $null = Wait-ArcpJob @script:Where -JobId $driver.JobId -Timeout 1 -ErrorAction SilentlyContinue -ErrorVariable failures

        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'DEADLINE_EXCEEDED,*'
        $failures[0].ErrorDetails.RecommendedAction | Should -Match '-Timeout'
        $failures[0].ErrorDetails.RecommendedAction | Should -Match 'Stop-ArcpJob'
        $null = New-Item -ItemType File -Path (Join-Path $script:Work "$name.go") -Force
        (Wait-ArcpJob @script:Where -JobId $driver.JobId -Timeout 240).State | Should -Be 'Completed'
        $null = Wait-ChildPwsh $driver.Child
    }
}

# Issue 9: hostile clients against a runtime host in its own process (the xunit Security group covers the rest).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Manifest = Get-ArcpModulePath
    Import-Module $script:Manifest

    $script:Work = New-TestFolder -Prefix 'arcp-security'
    $tokenFile = Join-Path $script:Work 'tokens.txt'
    Set-Content -LiteralPath $tokenFile -Value "tok-alice alice admin"
    if (-not $IsWindows) { [IO.File]::SetUnixFileMode($tokenFile, [IO.UnixFileMode]'UserRead, UserWrite') }

    # The operator allows one corpus root; beside it lies a private folder a client will try to read.
    $script:Root = Join-Path $script:Work 'corpus-root'
    $null = New-Item -ItemType Directory -Path (Join-Path $script:Root 'docs')
    Copy-Item -Path (Join-Path (Split-Path $script:Manifest) 'Corpus/*.md') -Destination (Join-Path $script:Root 'docs')
    $script:Secret = Join-Path $script:Work 'private'
    $null = New-Item -ItemType Directory -Path $script:Secret
    Set-Content -LiteralPath (Join-Path $script:Secret 'notes.md') -Value "# Keys`n`nThe host operator's secret paragraph about leases, checkpoints and idempotency keys."
    if (-not $IsWindows) { [IO.File]::SetUnixFileMode($script:Secret, [IO.UnixFileMode]'UserRead, UserWrite, UserExecute') }
    $store = Join-Path $script:Work 'runtime.db'

    function Start-HostProcess([string]$Arguments) {
        $command = Get-ChildPwshCommand
        $psi = [Diagnostics.ProcessStartInfo]::new($command.FilePath)
        foreach ($a in $command.Prefix) { $psi.ArgumentList.Add($a) }
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', "Import-Module '$script:Manifest'; Start-ArcpRuntime $Arguments") { $psi.ArgumentList.Add($a) }
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.Environment['NO_COLOR'] = '1'
        [Diagnostics.Process]::Start($psi)
    }

    $script:HostProcess = Start-HostProcess "-Listen ws://127.0.0.1:0/arcp -Store '$store' -TokenFile '$tokenFile' -Workflow research -CorpusRoot '$script:Root'"
    $script:HostErrors = $script:HostProcess.StandardError.ReadToEndAsync()
    $banner = $script:HostProcess.StandardOutput.ReadLineAsync()
    $script:Runtime = if ($banner.Wait(60000) -and $banner.Result -match 'listening on (wss?://\S+)') { $Matches[1] }
    if (-not $script:Runtime) { throw "The runtime host did not start: $($banner.Result) $(if ($script:HostProcess.HasExited) { $script:HostErrors.Result })" }
    $null = $script:HostProcess.StandardOutput.ReadToEndAsync()
}

AfterAll {
    if ($script:HostProcess -and -not $script:HostProcess.HasExited) {
        Stop-ArcpRuntime -Runtime $script:Runtime -Token tok-alice -ErrorAction SilentlyContinue
        if (-not $script:HostProcess.WaitForExit(15000)) { $script:HostProcess.Kill($true) }
    }
    Remove-TestFolder
}

Describe 'Security: a runtime host against hostile clients' -Tag 'Security' {
    It 'a client naming a private host folder as Corpus reads nothing and learns nothing about which folders exist' {
        $run = {
            param($Corpus)
            $job = Start-ArcpJob -Workflow research -OnRuntime -Runtime $script:Runtime -Token tok-alice -InputObject @{ Request = 'How do leases work?'; Corpus = $Corpus }
            $job | Wait-ArcpJob -Timeout 60 -Token tok-alice
        }
        $private = & $run $script:Secret
        $missing = & $run (Join-Path $script:Work 'no-such-folder')
        $ssh = & $run (Join-Path $HOME '.ssh')
        $escape = & $run '../private'

        foreach ($job in $private, $missing, $ssh, $escape) {
            $job.State | Should -Be 'Failed'
            $job.Error.Message | Should -Match 'not inside one this runtime allows'
            $job.Error.Message | Should -Not -Match 'secret paragraph'
            $job.Error.Message | Should -Not -Match 'does not exist'
        }
        $missing.Error.Message | Should -Be $private.Error.Message
        $ssh.Error.Message | Should -Be $private.Error.Message
    }

    It 'a client naming a folder inside the operator''s -CorpusRoot gets its report' {
        $job = Start-ArcpJob -Workflow research -OnRuntime -Runtime $script:Runtime -Token tok-alice -InputObject @{ Request = 'How do leases work?'; Corpus = 'docs' } |
            Wait-ArcpJob -Timeout 60 -Runtime $script:Runtime -Token tok-alice
        $job.State | Should -Be 'Completed'
        $job.Result | Should -Match '# Research report'
    }

    It 'warns when listening beyond loopback without TLS' {
        $open = Start-HostProcess "-Listen ws://0.0.0.0:0/arcp -Store '$(Join-Path $script:Work 'open.db')' -AllowAnonymous"
        try {
            $lines = [System.Collections.Generic.List[string]]::new()
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while ([DateTime]::UtcNow -lt $deadline -and -not ($lines -match 'listening on')) {
                $line = $open.StandardOutput.ReadLineAsync()
                if (-not $line.Wait(60000) -or $null -eq $line.Result) { break }
                $lines.Add($line.Result)
            }
            ($lines -join "`n") | Should -Match 'WARNING: .*without TLS'
        }
        finally {
            $open.Kill($true)
            $open.WaitForExit(15000) | Out-Null
        }
    }
}

Describe 'Security: Start-ArcpRuntime quotas and authentication limits' -Tag 'Security' {
    BeforeAll {
        $tokens = Join-Path $script:Work 'quota-tokens.txt'
        Set-Content -LiteralPath $tokens -Value "tok-quota quota"
        if (-not $IsWindows) { [IO.File]::SetUnixFileMode($tokens, [IO.UnixFileMode]'UserRead, UserWrite') }
        # Two messages at once, then one every hundred seconds (longer than a client waits out a quota refusal, so it
        # surfaces); two failed authentications, then one every thirty seconds.
        $script:Limited = Start-HostProcess "-Listen ws://127.0.0.1:0/arcp -Store '$(Join-Path $script:Work 'quota.db')' -TokenFile '$tokens' -MaxMessagesPerSecond 0.01 -QuotaBurstSeconds 200 -MaxFailedAuthenticationsPerMinute 2"
        $null = $script:Limited.StandardError.ReadToEndAsync()
        $banner = $script:Limited.StandardOutput.ReadLineAsync()
        $script:LimitedRuntime = if ($banner.Wait(60000) -and $banner.Result -match 'listening on (wss?://\S+)') { $Matches[1] }
        if (-not $script:LimitedRuntime) { throw "The limited runtime host did not start: $($banner.Result)" }
        $null = $script:Limited.StandardOutput.ReadToEndAsync()
    }

    AfterAll {
        if ($script:Limited -and -not $script:Limited.HasExited) {
            $script:Limited.Kill($true)
            $null = $script:Limited.WaitForExit(15000)
        }
    }

    It 'a principal sending past -MaxMessagesPerSecond gets RESOURCE_EXHAUSTED with a retry hint' {
        $failures = @()
        foreach ($attempt in 1..4) {
            $err = $null
            $null = Get-ArcpJob -Runtime $script:LimitedRuntime -Token tok-quota -ErrorAction SilentlyContinue -ErrorVariable err
            if ($err) { $failures += $err[0] }
        }
        $failures.Count | Should -BeGreaterOrEqual 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'RESOURCE_EXHAUSTED,*'
        $failures[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
        $failures[0].Exception.Message | Should -Match 'quota'
    }

    It 'an address guessing tokens past -MaxFailedAuthenticationsPerMinute is refused RATE_LIMITED, the right token included' {
        $codes = foreach ($guess in 'guess-1', 'guess-2', 'tok-quota') {
            $err = $null
            $null = Get-ArcpJob -Runtime $script:LimitedRuntime -Token $guess -ErrorAction SilentlyContinue -ErrorVariable err
            if ($err) { ($err[0].FullyQualifiedErrorId -split ',')[0] } else { 'OK' }
        }
        $codes | Should -Be @('UNAUTHENTICATED', 'UNAUTHENTICATED', 'RATE_LIMITED')
    }

    It '-NoQuota with a quota parameter is refused with INVALID_ARGUMENT' {
        { Start-ArcpRuntime -Listen ws://127.0.0.1:0/arcp -AllowAnonymous -Store (Join-Path $script:Work 'noquota.db') -NoQuota -MaxMessagesPerSecond 5 -ErrorAction Stop } |
            Should -Throw -ErrorId 'INVALID_ARGUMENT*' -ExpectedMessage '*-NoQuota*'
    }
}

Describe 'Security: retention bounds the disk' -Tag 'Security' {
    It 'Invoke-ArcpRetention -AbandonedJobAge -Compact removes a job its crashed owner left behind and shrinks the store file' {
        $store = Join-Path $script:Work 'disk.db'
        # A process that died after a step with half a megabyte of incompressible output: its job stays unfinished for ever.
        $crash = Start-ChildPwsh -ScriptText "Import-Module '$script:Manifest'; Start-ArcpJob -Store '$store' -Name abandoned -Step ([ordered]@{ noise = { [Convert]::ToBase64String([Security.Cryptography.RandomNumberGenerator]::GetBytes(500KB)) }; never = { 2 } }) -OnCheckpoint { [Environment]::Exit(137) }" -TimeoutSeconds 120
        $crash.ExitCode | Should -Be 137
        (Get-ArcpJob -Store $store -Name abandoned).State | Should -Be 'Interrupted'
        $before = (Get-Item -LiteralPath $store).Length

        $kept = Invoke-ArcpRetention -Store $store -EventAge 0 -CompletedJobAge 0 -Confirm:$false
        $kept.AbandonedJobsRemoved | Should -Be 0
        @(Get-ArcpJob -Store $store -Name abandoned).Count | Should -Be 1

        $summary = Invoke-ArcpRetention -Store $store -EventAge 0 -CompletedJobAge 0 -AbandonedJobAge 0 -Compact -Confirm:$false
        $summary.AbandonedJobsRemoved | Should -Be 1
        $summary.SessionsRemoved + $kept.SessionsRemoved | Should -BeGreaterOrEqual 1
        @(Get-ArcpJob -Store $store -Name abandoned).Count | Should -Be 0
        $summary.BytesReclaimed | Should -BeGreaterThan 500KB
        (Get-Item -LiteralPath $store).Length | Should -BeLessThan ($before / 2)
    }
}

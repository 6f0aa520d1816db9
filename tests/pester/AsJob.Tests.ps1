# Start-ArcpJob -AsJob / Resume-ArcpJob -AsJob: real PowerShell jobs that the built-in job cmdlets drive.

BeforeAll {
    if (-not $env:ARCP_MODULE_PATH) { throw 'ARCP_MODULE_PATH is not set; run the tests through ./build.ps1 test.' }
    Import-Module $env:ARCP_MODULE_PATH -Force
    $script:StoreDir = Join-Path ([IO.Path]::GetTempPath()) "arcp-asjob-$([guid]::NewGuid().ToString('n'))"
    $null = New-Item -ItemType Directory -Path $script:StoreDir
    $script:Store = Join-Path $script:StoreDir 'arcp.db'
}

AfterAll {
    Get-Job | Where-Object PSJobTypeName -EQ 'ArcpJob' | Remove-Job -Force
    Remove-Module Arcp.Resumability -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $script:StoreDir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Start-ArcpJob -AsJob' {
    It 'returns a job that Get-Job, Wait-Job and Receive-Job handle' {
        $job = Start-ArcpJob -Store $script:Store -Name bg-simple -InputObject 20 -AsJob -Step ([ordered]@{
                double = { param($n) Write-Warning 'doubling'; $n * 2 }
                report = { "The answer is $_" }
            })
        $job.PSJobTypeName | Should -Be 'ArcpJob'
        $job.Location | Should -Be $script:Store
        (Get-Job -Name bg-simple).InstanceId | Should -Be $job.InstanceId

        $job | Wait-Job -Timeout 60 | Out-Null
        $job.State | Should -Be 'Completed'
        $received = @($job | Receive-Job -WarningVariable warned -WarningAction SilentlyContinue)
        $received.Count | Should -Be 1
        $received[0].State | Should -Be 'Completed'
        $received[0].Result | Should -Be 'The answer is 40'
        "$warned" | Should -Match 'doubling'
        $job.ArcpJobId | Should -Be $received[0].JobId
        (Get-ArcpJob -Store $script:Store -JobId $job.ArcpJobId).State | Should -Be 'Completed'
    }

    It 'runs a workflow file relative to the caller''s location' {
        $flow = Join-Path $script:StoreDir 'flow.ps1'
        Set-Content -LiteralPath $flow -Value "@{ Name = 'file-flow'; Steps = [ordered]@{ one = { 'from file' } } }"
        Push-Location -LiteralPath $script:StoreDir
        try { $job = Start-ArcpJob -Store $script:Store ./flow.ps1 -AsJob }
        finally { Pop-Location }
        ($job | Wait-Job -Timeout 60 | Receive-Job).Result | Should -Be 'from file'
    }

    It 'knows its ARCP job id while the first step is still running' {
        $gate = Join-Path $script:StoreDir 'bg-early.gate'
        $job = Start-ArcpJob -Store $script:Store -Name bg-early -AsJob -Step ([ordered]@{
                slow = ([scriptblock]::Create("while (-not (Test-Path -LiteralPath '$gate')) { Start-Sleep -Milliseconds 50 }; 'done'"))
            })
        try {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            while (-not $job.ArcpJobId -and $clock.Elapsed.TotalSeconds -lt 60) { Start-Sleep -Milliseconds 50 }
            $job.ArcpJobId | Should -Not -BeNullOrEmpty
            $arcp = $job | Get-ArcpJob
            $arcp.JobId | Should -Be $job.ArcpJobId
            $arcp.Name | Should -Be 'bg-early'
            $arcp.State | Should -Be 'Running'
            @(Get-ArcpCheckpoint -Store $script:Store -JobId $job.ArcpJobId).Count | Should -Be 0
        }
        finally { Set-Content -LiteralPath $gate -Value go }
        ($job | Wait-Job -Timeout 60 | Receive-Job).JobId | Should -Be $job.ArcpJobId
    }

    It 'fails the PowerShell job when the ARCP job fails' {
        $job = Start-ArcpJob -Store $script:Store -AsJob -Step ([ordered]@{ boom = { throw 'kaboom' } })
        $job | Wait-Job -Timeout 60 | Out-Null
        $job.State | Should -Be 'Failed'
        $null = $job | Receive-Job -ErrorVariable err -ErrorAction SilentlyContinue
        "$err" | Should -Match 'kaboom'
    }

    It 'stops with Stop-Job, leaving the ARCP job interrupted, and resumes where it stopped' {
        $marker = Join-Path $script:StoreDir 'bg-stop.marker'
        $job = Start-ArcpJob -Store $script:Store -Name bg-stop -AsJob -Step ([ordered]@{
                first  = { 'one' }
                second = ([scriptblock]::Create("if (-not (Test-Path '$marker')) { Set-Content '$marker' x; Start-Sleep -Seconds 60 }; 'two'"))
                third  = { "$_ three" }
            })
        $clock = [Diagnostics.Stopwatch]::StartNew()
        while (-not (Test-Path -LiteralPath $marker) -and $clock.Elapsed.TotalSeconds -lt 60) { Start-Sleep -Milliseconds 50 }

        $job | Stop-Job
        $job.State | Should -Be 'Stopped'
        $job.ArcpJobId | Should -Not -BeNullOrEmpty
        (Get-ArcpJob -Store $script:Store -JobId $job.ArcpJobId).State | Should -Be 'Interrupted'
        @(Get-ArcpCheckpoint -Store $script:Store -JobId $job.ArcpJobId).Step | Should -Be @('first')

        # What the built-in Resume-Job calls (Resume-Job itself exists on Windows only).
        $job.ResumeJob()
        $job | Wait-Job -Timeout 60 | Out-Null
        $job.State | Should -Be 'Completed'
        (Get-ArcpJob -Store $script:Store -JobId $job.ArcpJobId).Result | Should -Be 'two three'
        @(Get-ArcpCheckpoint -Store $script:Store -JobId $job.ArcpJobId).Step | Should -Be @('first', 'second', 'third')
        @(Get-ArcpJob -Store $script:Store -Name bg-stop).Count | Should -Be 1
    }

    It 'resumes an interrupted ARCP job in the background with Resume-ArcpJob -AsJob' {
        try { Start-ArcpJob -Store $script:Store -Name bg-resume -Step ([ordered]@{ one = { 1 }; two = { $_ + 1 } }) -OnCheckpoint { throw 'simulated crash' } } catch { $null = $_ }
        $interrupted = Get-ArcpJob -Store $script:Store -Name bg-resume
        $job = $interrupted | Resume-ArcpJob -Step ([ordered]@{ one = { 1 }; two = { $_ + 1 } }) -AsJob
        ($job | Wait-Job -Timeout 60 | Receive-Job).Result | Should -Be 2
        $job.ArcpJobId | Should -Be $interrupted.JobId
    }

    It 'is removed by Remove-Job' {
        $job = Start-ArcpJob -Store $script:Store -Name bg-remove -AsJob -Step ([ordered]@{ one = { 1 } })
        $job | Wait-Job -Timeout 60 | Remove-Job
        Get-Job -Name bg-remove -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

# The research workflow's critique loop: low severity finalizes at once (the default request), high severity goes
# back to synthesize with the critique appended, at most MaxRounds times, and a resume after ANY checkpoint of the
# loop ends with the same report and the same checkpoint sequence as an uninterrupted run.

BeforeDiscovery {
    # 3 rounds: plan, gather, (synthesize, critique) x 3, finalize = 9 checkpoints.
    $script:CrashPoints = @(1..8 | ForEach-Object { @{ After = $_ } })
}

BeforeAll {
    if (-not $env:ARCP_MODULE_PATH) { throw 'ARCP_MODULE_PATH is not set; run the tests through ./build.ps1 test.' }
    Import-Module $env:ARCP_MODULE_PATH -Force
    $script:StoreDir = Join-Path ([IO.Path]::GetTempPath()) "arcp-loop-$([guid]::NewGuid().ToString('n'))"
    $null = New-Item -ItemType Directory -Path $script:StoreDir
    $script:Store = Join-Path $script:StoreDir 'arcp.db'
    $script:HighInput = @{ Request = 'quantum chromodynamics gluon confinement lattice'; MaxRounds = 3 }
    $script:Reference = Start-ArcpJob -Store $script:Store research -InputObject $script:HighInput
    $script:ReferenceSteps = @(Get-ArcpCheckpoint -Store $script:Store -JobId $script:Reference.JobId).Step
}

AfterAll {
    Remove-Module Arcp.Resumability -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $script:StoreDir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Research critique loop' {
    It 'finalizes at once when the critique is low (the default request)' {
        $job = Start-ArcpJob -Store $script:Store research
        @(Get-ArcpCheckpoint -Store $script:Store -JobId $job.JobId).Step | Should -Be @('plan', 'gather', 'synthesize', 'critique', 'finalize')
        $job.Result | Should -Match '- Severity: low'
        $job.Result | Should -Not -Match 'Synthesis rounds'
    }

    It 'goes back to synthesize while the critique is high, at most MaxRounds times' {
        $script:Reference.State | Should -Be 'Completed'
        $script:ReferenceSteps | Should -Be @('plan', 'gather', 'synthesize', 'critique', 'synthesize', 'critique', 'synthesize', 'critique', 'finalize')
        $script:Reference.Result | Should -Match '- Synthesis rounds: 3'
        $keys = @(Get-ArcpCheckpoint -Store $script:Store -JobId $script:Reference.JobId).IdempotencyKey
        @($keys | Select-Object -Unique).Count | Should -Be $keys.Count
    }

    It 'thinks out loud between the steps' {
        $thoughts = @(Get-ArcpEvent -Store $script:Store -JobId $script:Reference.JobId -Type stream.chunk).Payload.content
        $thoughts | Should -Contain 'Critique: score 0, severity high; 10 finding(s).'
        @($thoughts | Where-Object { $_ -like 'Round *' }).Count | Should -Be 2
    }

    It 'honours MaxRounds = 1' {
        $job = Start-ArcpJob -Store $script:Store research -InputObject @{ Request = $script:HighInput.Request; MaxRounds = 1 }
        @(Get-ArcpCheckpoint -Store $script:Store -JobId $job.JobId).Step | Should -Be @('plan', 'gather', 'synthesize', 'critique', 'finalize')
    }

    It 'resumes after checkpoint <After> to the same report' -ForEach $script:CrashPoints {
        $counter = @{ Seen = 0 }
        $crashAfter = $After
        try {
            Start-ArcpJob -Store $script:Store research -InputObject $script:HighInput -Name "loop-crash-$After" -OnCheckpoint {
                $counter.Seen++
                if ($counter.Seen -eq $crashAfter) { throw 'simulated crash' }
            }
        }
        catch { $null = $_ }
        $interrupted = Get-ArcpJob -Store $script:Store -Name "loop-crash-$After"
        $interrupted.State | Should -Be 'Interrupted'
        @(Get-ArcpCheckpoint -Store $script:Store -JobId $interrupted.JobId).Count | Should -Be $After

        $resumed = $interrupted | Resume-ArcpJob
        $resumed.State | Should -Be 'Completed'
        $resumed.Result | Should -BeExactly $script:Reference.Result
        @(Get-ArcpCheckpoint -Store $script:Store -JobId $resumed.JobId).Step | Should -Be $script:ReferenceSteps
    }
}

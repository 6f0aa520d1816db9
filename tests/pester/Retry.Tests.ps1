# Issue 10 section 2: Resume-ArcpJob -Retry gives a Failed or Cancelled job a second chance as a new job linked to
# it (RetryOf); the original stays as it was. -CheckpointId forks the retry from an earlier checkpoint.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Manifest = Get-ArcpModulePath
    Import-Module $script:Manifest
    $script:Work = New-TestFolder -Prefix 'arcp-retry'

    # Steps a, b, c whose script text is self-contained (literal paths), as recorded inline steps must be: each appends
    # its name to $Counter; step $Broken fails until the file $Fix exists; every output carries the input it got.
    function New-FixableSteps([string]$Counter, [string]$Fix, [string]$Broken) {
        $steps = [ordered]@{}
        foreach ($name in 'a', 'b', 'c') {
            $guard = if ($name -eq $Broken) { "if (-not (Test-Path -LiteralPath '$Fix')) { throw '$name is broken until fixed' }; " } else { '' }
            $steps[$name] = [scriptblock]::Create("param(`$Previous) Add-Content -LiteralPath '$Counter' -Value '$name'; $guard(`"`$Previous $($name.ToUpperInvariant())`").Trim()")
        }
        $steps
    }

    function New-FailedJob([string]$CaseName, [string]$Broken = 'b') {
        $case = [pscustomobject]@{
            Store = Join-Path $script:Work "$CaseName.db"; Counter = Join-Path $script:Work "$CaseName-counter.txt"; Fix = Join-Path $script:Work "$CaseName-fixed"
            Job = $null
        }
        $case.Job = Start-ArcpJob -Step (New-FixableSteps $case.Counter $case.Fix $Broken) -Name $CaseName -Store $case.Store -ErrorAction SilentlyContinue
        $case
    }
}

AfterAll { Remove-TestFolder }

Describe 'Resume-ArcpJob -Retry of a Failed job' {
    It 'starts a new job linked by RetryOf that continues after the last checkpoint once the cause is fixed' {
        $case = New-FailedJob 'fixed'
        $case.Job.State | Should -Be 'Failed'
        Get-Content -LiteralPath $case.Counter | Should -Be @('a', 'b')
        $null = New-Item -ItemType File -Path $case.Fix

        $retry = $case.Job | Resume-ArcpJob -Retry -ErrorAction Stop

        $retry.State | Should -Be 'Completed'
        $retry.JobId | Should -Not -Be $case.Job.JobId
        $retry.RetryOf | Should -Be $case.Job.JobId
        $retry.Result | Should -Be 'A B C' -Because 'the retry''s first step got the checkpointed output of a'
        Get-Content -LiteralPath $case.Counter | Should -Be @('a', 'b', 'b', 'c') -Because 'a was not run again'
        @(Get-ArcpCheckpoint -JobId $retry.JobId -Store $case.Store).Step | Should -Be @('a', 'b', 'c')
        $original = Get-ArcpJob -JobId $case.Job.JobId -Store $case.Store
        $original.State | Should -Be 'Failed' -Because 'a terminal state is final (RFC 0001 section 10.2)'
        $original.RetryOf | Should -BeNullOrEmpty
        @(Get-ArcpCheckpoint -JobId $case.Job.JobId -Store $case.Store).Step | Should -Be @('a') -Because 'the original gets nothing new'
    }

    It 'forks from an earlier checkpoint given by -CheckpointId: the steps after it run again' {
        $case = New-FailedJob 'fork' -Broken 'c'
        $case.Job.State | Should -Be 'Failed'
        $checkpointA = Get-ArcpCheckpoint -JobId $case.Job.JobId -Store $case.Store | Where-Object Step -EQ 'a'
        $null = New-Item -ItemType File -Path $case.Fix

        $fork = $checkpointA | Resume-ArcpJob -Retry -ErrorAction Stop

        $fork.RetryOf | Should -Be $case.Job.JobId
        $fork.State | Should -Be 'Completed'
        $fork.Result | Should -Be 'A B C'
        Get-Content -LiteralPath $case.Counter | Should -Be @('a', 'b', 'c', 'b', 'c')
        @(Get-ArcpCheckpoint -JobId $fork.JobId -Store $case.Store).Step | Should -Be @('a', 'b', 'c')
    }

    It 'refuses a job that is not Failed or Cancelled with FAILED_PRECONDITION and starts nothing' {
        $store = Join-Path $script:Work 'completed.db'
        $done = Start-ArcpJob -Step ([ordered]@{ a = { 'A' } }) -Store $store -ErrorAction Stop
        $done | Resume-ArcpJob -Retry -ErrorAction SilentlyContinue -ErrorVariable refused
        $refused.Count | Should -Be 1
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'FAILED_PRECONDITION*'
        $refused[0].Exception.Message | Should -BeLike '*Failed or Cancelled*'
        @(Get-ArcpJob -Store $store).Count | Should -Be 1
    }

    It 'refuses -Retry with -AsJob as INVALID_ARGUMENT' {
        $case = New-FailedJob 'asjob'
        $case.Job | Resume-ArcpJob -Retry -AsJob -ErrorAction SilentlyContinue -ErrorVariable refused
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'INVALID_ARGUMENT*'
    }
}

Describe 'Start-ArcpJob -IdempotencyKey naming a Failed job' {
    It 'returns the failed job with a warning that explains Resume-ArcpJob -Retry' {
        $store = Join-Path $script:Work 'idempotent.db'
        $steps = [ordered]@{ a = { throw 'broken' } }
        $first = Start-ArcpJob -Step $steps -IdempotencyKey 'nightly-2026-12-01' -Store $store -ErrorAction SilentlyContinue
        $first.State | Should -Be 'Failed'

        $again = Start-ArcpJob -Step $steps -IdempotencyKey 'nightly-2026-12-01' -Store $store -WarningVariable warned -WarningAction SilentlyContinue

        $again.JobId | Should -Be $first.JobId
        ($warned -join ' ') | Should -BeLike "*Resume-ArcpJob -JobId $($first.JobId) -Retry*"
    }
}

# Issue 10 section 1: every job records where its definition comes from, so
# `Get-ArcpJob -State Interrupted | Resume-ArcpJob` needs nothing else. Crashes are real: each child pwsh SIGKILLs
# itself in the middle of its job; one new child, in another folder, resumes every kind with no argument.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Manifest = Get-ArcpModulePath
    Import-Module $script:Manifest
    $script:Work = New-TestFolder -Prefix 'arcp-recorded'
    $script:Elsewhere = New-TestFolder -Prefix 'arcp-elsewhere'

    # Steps a, b, c: each appends its name to $Counter; b SIGKILLs its own process the first time (before counting).
    function Get-CountingStepText([string]$Counter, [string]$KillMarker) {
        @"
        a = { param(`$Previous) Add-Content -LiteralPath '$Counter' -Value 'a'; 'A' }
        b = @{ MaxAttempts = 2; RetryDelay = '00:00:00.100'; Run = { param(`$Previous)
              if (-not (Test-Path -LiteralPath '$KillMarker')) { Set-Content -LiteralPath '$KillMarker' -Value 'x'; Stop-Process -Id `$PID -Force }
              Add-Content -LiteralPath '$Counter' -Value 'b'; "`$Previous B" } }
        c = { param(`$Previous) Add-Content -LiteralPath '$Counter' -Value 'c'; "`$Previous C" }
"@
    }

    function New-CountingWorkflow([string]$Path, [string]$Name, [string]$Counter, [string]$KillMarker) {
        Set-Content -LiteralPath $Path -Value "@{`n    Name = '$Name'`n    Version = '1'`n    Steps = [ordered]@{`n$(Get-CountingStepText $Counter $KillMarker)`n    }`n}"
    }

    function Get-CheckpointStep([string]$Store, [string]$JobId) { @(Get-ArcpCheckpoint -JobId $JobId -Store $Store).Step }
}

AfterAll { Remove-TestFolder }

Describe 'Get-ArcpJob -State Interrupted | Resume-ArcpJob with nothing else, for every kind of definition' {
    BeforeAll {
        $script:Store = Join-Path $script:Work 'kinds.db'
        $script:SearchFolder = Join-Path $script:Work 'search'
        $script:FileFolder = Join-Path $script:Work 'files'
        $null = New-Item -ItemType Directory -Path $script:SearchFolder, $script:FileFolder
        $script:Counters = @{}
        foreach ($kind in 'file', 'search', 'inline') { $script:Counters[$kind] = Join-Path $script:Work "$kind-counter.txt" }
        New-CountingWorkflow -Path (Join-Path $script:FileFolder 'file-flow.ps1') -Name 'file-flow' -Counter $script:Counters.file -KillMarker (Join-Path $script:Work 'file-killed')
        New-CountingWorkflow -Path (Join-Path $script:SearchFolder 'search-flow.ps1') -Name 'search-flow' -Counter $script:Counters.search -KillMarker (Join-Path $script:Work 'search-killed')
        $environment = @{ ARCP_STORE = $script:Store; ARCP_WORKFLOW_PATH = $script:SearchFolder }
        $import = "Import-Module '$script:Manifest'"
        $inlineSteps = Get-CountingStepText $script:Counters.inline (Join-Path $script:Work 'inline-killed')

        # Four crashing children side by side, one per kind; the file workflow is started by a path relative to its folder.
        Push-Location $script:FileFolder
        try {
            $children = @(
                Start-ChildPwsh -NoWait -ScriptText "$import; Start-ArcpJob -Workflow ./file-flow.ps1 -Name file | Out-Null" -Environment $environment -TimeoutSeconds 180
                Start-ChildPwsh -NoWait -ScriptText "$import; Start-ArcpJob -Workflow search-flow -Name search | Out-Null" -Environment $environment -TimeoutSeconds 180
                Start-ChildPwsh -NoWait -ScriptText "$import; Start-ArcpJob -Name inline -Step ([ordered]@{`n$inlineSteps`n}) | Out-Null" -Environment $environment -TimeoutSeconds 180
                Start-ChildPwsh -NoWait -ScriptText "$import; Start-ArcpJob -Workflow research -Name builtin -InputObject '$(Get-DefaultResearchRequest)' -OnCheckpoint { if (`$_.Step -eq 'gather') { Stop-Process -Id `$PID -Force } } | Out-Null" -Environment $environment -TimeoutSeconds 180
            )
        }
        finally { Pop-Location }
        $script:Crashed = @($children | Wait-ChildPwsh)
        $script:Interrupted = @(Get-ArcpJob -State Interrupted -Store $script:Store)

        Push-Location $script:Elsewhere
        try {
            $script:Resumed = Start-ChildPwsh -ScriptText "$import; Get-ArcpJob -State Interrupted | Resume-ArcpJob -ErrorAction Continue | ForEach-Object { `"`$(`$_.Name) `$(`$_.State)`" }" -Environment $environment -TimeoutSeconds 300
        }
        finally { Pop-Location }
        $script:Jobs = @(Get-ArcpJob -Store $script:Store)
    }

    It 'kills each of the four children in the middle of its job' {
        foreach ($child in $script:Crashed) { $child.ExitCode | Should -Not -Be 0 -Because (Format-ChildResult $child) }
        @($script:Interrupted.Name | Sort-Object) | Should -Be @('builtin', 'file', 'inline', 'search')
    }

    It 'resumes all four from another folder with no argument, and each completes' {
        $script:Resumed.ExitCode | Should -Be 0 -Because (Format-ChildResult $script:Resumed)
        $script:Resumed.StdErr | Should -BeNullOrEmpty
        @($script:Resumed.Output | Sort-Object) | Should -Be @('builtin Completed', 'file Completed', 'inline Completed', 'search Completed')
    }

    It 'runs every step body once after the crash and records every step once' {
        foreach ($kind in 'file', 'search', 'inline') {
            Get-Content -LiteralPath $script:Counters[$kind] | Should -Be @('a', 'b', 'c') -Because "the $kind job's killed step ran to the end only once"
            $job = $script:Jobs | Where-Object Name -EQ $kind
            $job.Result | Should -Be 'A B C'
            Get-CheckpointStep $script:Store $job.JobId | Should -Be @('a', 'b', 'c')
        }
        $builtin = $script:Jobs | Where-Object Name -EQ 'builtin'
        Get-CheckpointStep $script:Store $builtin.JobId | Should -Be (Get-ResearchStepName)
    }
}

Describe 'A workflow file edited between the crash and the resume' {
    It 'is refused with FAILED_PRECONDITION naming both versions and -Force, and -Force continues with the new one' {
        $store = Join-Path $script:Work 'edited.db'
        $counter = Join-Path $script:Work 'edited-counter.txt'
        $file = Join-Path $script:Work 'edited-flow.ps1'
        New-CountingWorkflow -Path $file -Name 'edited-flow' -Counter $counter -KillMarker (Join-Path $script:Work 'edited-killed')
        $crashed = Start-ChildPwsh -ScriptText "Import-Module '$script:Manifest'; Start-ArcpJob -Workflow '$file' | Out-Null" -Environment @{ ARCP_STORE = $store } -TimeoutSeconds 120
        $crashed.ExitCode | Should -Not -Be 0
        (Get-Content -LiteralPath $file -Raw).Replace("Version = '1'", "Version = '2'") | Set-Content -LiteralPath $file

        Push-Location $script:Elsewhere
        try {
            Get-ArcpJob -State Interrupted -Store $store | Resume-ArcpJob -ErrorAction SilentlyContinue -ErrorVariable refused
            $refused.Count | Should -Be 1
            $refused[0].FullyQualifiedErrorId | Should -BeLike 'FAILED_PRECONDITION*'
            $refused[0].Exception.Message | Should -BeLike "*version '1'*version '2'*-Force*"
            Get-Content -LiteralPath $counter | Should -Be @('a') -Because 'nothing ran'

            $forced = Get-ArcpJob -State Interrupted -Store $store | Resume-ArcpJob -Force -ErrorAction Stop
        }
        finally { Pop-Location }
        $forced.State | Should -Be 'Completed'
        Get-Content -LiteralPath $counter | Should -Be @('a', 'b', 'c')
    }

    It 'is refused when only the content changed (same declared Version)' {
        $store = Join-Path $script:Work 'content.db'
        $counter = Join-Path $script:Work 'content-counter.txt'
        $file = Join-Path $script:Work 'content-flow.ps1'
        New-CountingWorkflow -Path $file -Name 'content-flow' -Counter $counter -KillMarker (Join-Path $script:Work 'content-killed')
        $crashed = Start-ChildPwsh -ScriptText "Import-Module '$script:Manifest'; Start-ArcpJob -Workflow '$file' | Out-Null" -Environment @{ ARCP_STORE = $store } -TimeoutSeconds 120
        $crashed.ExitCode | Should -Not -Be 0
        Add-Content -LiteralPath $file -Value '# edited: same Version, other content'

        Get-ArcpJob -State Interrupted -Store $store | Resume-ArcpJob -ErrorAction SilentlyContinue -ErrorVariable refused
        $refused.Count | Should -Be 1
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'FAILED_PRECONDITION*'
        $refused[0].Exception.Message | Should -Match "version '1' \(sha256:[0-9a-f]{64}\).*version '1' \(sha256:[0-9a-f]{64}\).*-Force"
    }
}

Describe 'Security: recorded definitions' -Tag 'Security' {
    It 'ignores a definition row planted for another principal: the job falls back to name lookup and nothing runs' -Skip:(-not (Get-Command sqlite3 -ErrorAction Ignore)) {
        $store = Join-Path $script:Work 'planted-definition.db'
        $marker = Join-Path $script:Work 'planted-definition-ran.txt'
        $evil = Join-Path $script:Work 'definition-evil.ps1'
        Set-Content -LiteralPath $evil -Value "Set-Content -LiteralPath '$marker' -Value 'ran'; @{ Name = 'inline'; Steps = [ordered]@{ a = { 'x' } } }"
        $job = Start-ArcpJob -Step ([ordered]@{ a = { 'fine' } }) -Store $store -ErrorAction Stop
        & sqlite3 $store "UPDATE job_definitions SET principal = 'local:someone-else', kind = 'file', reference = '$evil', script = NULL WHERE job_id = '$($job.JobId)';"
        { Resume-ArcpJob -JobId $job.JobId -Store $store -ErrorAction Stop } | Should -Throw -ExpectedMessage '*inline -Step script blocks and its steps were not recorded*'
        Test-Path -LiteralPath $marker | Should -BeFalse
    }

    It 'records an inline job''s definition for the local principal only' -Skip:(-not (Get-Command sqlite3 -ErrorAction Ignore)) {
        $store = Join-Path $script:Work 'local-only.db'
        $job = Start-ArcpJob -Step ([ordered]@{ a = { 'fine' } }) -Store $store -ErrorAction Stop
        $job.State | Should -Be 'Completed'
        & sqlite3 $store "SELECT kind || ' ' || principal FROM job_definitions WHERE job_id = '$($job.JobId)';" | Should -Be "inline local:$([Environment]::UserName)"
    }
}

# Issue 9 finding 6 / issue 10: which workflow definitions Resume-ArcpJob and Start-ArcpJob will ever run.
# A workflow value read back from the store is resolved as a name on this host, never as a path; only regular
# .ps1 files run. Crashes are real: the child pwsh SIGKILLs itself in the middle of a step.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Manifest = Get-ArcpModulePath
    Import-Module $script:Manifest
    $script:Work = New-TestFolder -Prefix 'arcp-trust'
    $script:Elsewhere = New-TestFolder -Prefix 'arcp-elsewhere'

    # Each step appends its name to the counter file; step 'b' SIGKILLs its own process the first time it runs.
    function New-CountingWorkflow([string]$Path, [string]$Name, [string]$Counter, [string]$KillMarker) {
        $text = @"
@{
    Name  = '$Name'
    Steps = [ordered]@{
        a = { param(`$Previous) Add-Content -LiteralPath '$Counter' -Value 'a'; 'A' }
        b = { param(`$Previous)
              if (-not (Test-Path -LiteralPath '$KillMarker')) { Set-Content -LiteralPath '$KillMarker' -Value 'x'; Stop-Process -Id `$PID -Force }
              Add-Content -LiteralPath '$Counter' -Value 'b'; "`$Previous B" }
        c = { param(`$Previous) Add-Content -LiteralPath '$Counter' -Value 'c'; "`$Previous C" }
    }
}
"@
        Set-Content -LiteralPath $Path -Value $text
    }
}

AfterAll { Remove-TestFolder }

Describe 'A workflow found by name on $env:ARCP_WORKFLOW_PATH' {
    It 'is killed mid-step, then resumed by Get-ArcpJob -State Interrupted | Resume-ArcpJob from another folder, each step run once' {
        $folder = Join-Path $script:Work 'search-path'
        $null = New-Item -ItemType Directory -Path $folder
        $store = Join-Path $script:Work 'search-path.db'
        $counter = Join-Path $script:Work 'search-path-counter.txt'
        New-CountingWorkflow -Path (Join-Path $folder 'counted-flow.ps1') -Name 'counted-flow' -Counter $counter -KillMarker (Join-Path $script:Work 'search-path-killed')
        $environment = @{ ARCP_STORE = $store; ARCP_WORKFLOW_PATH = $folder }

        $crashed = Start-ChildPwsh -ScriptText "Import-Module '$script:Manifest'; Start-ArcpJob -Workflow counted-flow -ErrorAction Stop | Out-Null" -Environment $environment -TimeoutSeconds 120
        $crashed.ExitCode | Should -Not -Be 0 -Because 'the step killed its own process'
        Get-Content -LiteralPath $counter | Should -Be @('a')

        Push-Location $script:Elsewhere
        try {
            $resumed = Start-ChildPwsh -ScriptText "Import-Module '$script:Manifest'; Get-ArcpJob -State Interrupted | Resume-ArcpJob -ErrorAction Stop | ForEach-Object { `"`$(`$_.State) `$(`$_.Result)`" }" -Environment $environment -TimeoutSeconds 120
        }
        finally { Pop-Location }
        $resumed.ExitCode | Should -Be 0 -Because $resumed.StdErr
        $resumed.Output | Should -Be @('Completed A B C')
        Get-Content -LiteralPath $counter | Should -Be @('a', 'b', 'c')
    }
}

Describe 'A named workflow edited between the crash and the resume' {
    It 'is refused with FAILED_PRECONDITION naming both versions, and -Force continues with the new one' {
        $folder = Join-Path $script:Work 'edited'
        $null = New-Item -ItemType Directory -Path $folder
        $store = Join-Path $script:Work 'edited.db'
        $counter = Join-Path $script:Work 'edited-counter.txt'
        $file = Join-Path $folder 'edited-flow.ps1'
        New-CountingWorkflow -Path $file -Name 'edited-flow' -Counter $counter -KillMarker (Join-Path $script:Work 'edited-killed')
        $crashed = Start-ChildPwsh -ScriptText "Import-Module '$script:Manifest'; Start-ArcpJob -Workflow edited-flow | Out-Null" -Environment @{ ARCP_STORE = $store; ARCP_WORKFLOW_PATH = $folder } -TimeoutSeconds 120
        $crashed.ExitCode | Should -Not -Be 0
        Add-Content -LiteralPath $file -Value '# edited after the crash: a new content version'

        $saved = $env:ARCP_WORKFLOW_PATH
        $env:ARCP_WORKFLOW_PATH = $folder
        try {
            $recorded = (Get-ArcpJob -State Interrupted -Store $store | Get-ArcpCheckpoint | Select-Object -Last 1).DefinitionVersion
            $current = (Get-ArcpWorkflow edited-flow).Version
            $current | Should -Not -Be $recorded
            Get-ArcpJob -State Interrupted -Store $store | Resume-ArcpJob -ErrorAction SilentlyContinue -ErrorVariable refused
            $refused.Count | Should -Be 1
            $refused[0].FullyQualifiedErrorId | Should -BeLike 'FAILED_PRECONDITION*'
            $refused[0].Exception.Message | Should -BeLike "*'$recorded'*'$current'*"
            Get-Content -LiteralPath $counter | Should -Be @('a') -Because 'nothing ran'

            $forced = Get-ArcpJob -State Interrupted -Store $store | Resume-ArcpJob -Force -ErrorAction Stop
        }
        finally { $env:ARCP_WORKFLOW_PATH = $saved }
        $forced.State | Should -Be 'Completed'
        Get-Content -LiteralPath $counter | Should -Be @('a', 'b', 'c')
    }
}

Describe 'Get-ArcpWorkflow' {
    It 'lists the built-ins, then the regular .ps1 files of $env:ARCP_WORKFLOW_PATH, and what each name resolves to' {
        $folder = Join-Path $script:Work 'listed'
        $null = New-Item -ItemType Directory -Path $folder
        Set-Content -LiteralPath (Join-Path $folder 'nightly.ps1') -Value "@{ Name = 'nightly'; Version = '7'; Steps = [ordered]@{ a = { 1 }; b = { 2 } } }"
        Set-Content -LiteralPath (Join-Path $folder 'research.ps1') -Value "@{ Name = 'research'; Version = 'shadow'; Steps = [ordered]@{ a = { 1 } } }"
        Set-Content -LiteralPath (Join-Path $folder 'notes.txt') -Value 'not a workflow'
        $saved = $env:ARCP_WORKFLOW_PATH
        $env:ARCP_WORKFLOW_PATH = "relative-folder$([IO.Path]::PathSeparator)$folder"
        try { $listed = @(Get-ArcpWorkflow -ErrorAction Stop) }
        finally { $env:ARCP_WORKFLOW_PATH = $saved }

        $research = $listed | Where-Object Name -EQ 'research'
        $research.Source | Should -Be 'BuiltIn' -Because 'a built-in is found before the search path'
        $research.Version | Should -Not -Be 'shadow'
        $nightly = $listed | Where-Object Name -EQ 'nightly'
        $nightly.Source | Should -Be 'SearchPath'
        $nightly.Version | Should -Be '7'
        $nightly.StepCount | Should -Be 2
        $nightly.Path | Should -Be (Join-Path $folder 'nightly.ps1')
        $listed.Name | Should -Not -Contain 'notes'
    }
}

Describe 'Security: workflow definitions from outside are never run from a path' -Tag 'Security' {
    It 'refuses an executable as a workflow: Start-ArcpJob -Workflow /usr/bin/id' -Skip:$IsWindows {
        $store = Join-Path $script:Work 'id.db'
        { Start-ArcpJob -Workflow /usr/bin/id -Store $store -ErrorAction Stop } | Should -Throw -ExpectedMessage '*only .ps1 files are run*'
        $error[0].FullyQualifiedErrorId | Should -BeLike 'INVALID_ARGUMENT*'
        $job = Start-ArcpJob -Step ([ordered]@{ a = { throw 'stop here' } }) -Store $store -ErrorAction SilentlyContinue
        { Resume-ArcpJob -JobId $job.JobId -Workflow /usr/bin/id -Store $store -ErrorAction Stop } | Should -Throw -ExpectedMessage '*only .ps1 files are run*'
    }

    It 'refuses an executable behind a .ps1 symbolic link' -Skip:$IsWindows {
        $link = Join-Path $script:Work 'innocent.ps1'
        $null = New-Item -ItemType SymbolicLink -Path $link -Target /usr/bin/id
        { Start-ArcpJob -Workflow $link -Store (Join-Path $script:Work 'link.db') -ErrorAction Stop } | Should -Throw -ExpectedMessage '*not a regular file*'
    }

    It 'never runs a path sent over the wire as the workflow name (planted evil.ps1 is not executed by Get-ArcpJob -State Interrupted | Resume-ArcpJob)' -Skip:(-not (Get-Command sqlite3 -ErrorAction Ignore)) {
        $store = Join-Path $script:Work 'planted-wire.db'
        $planted = Join-Path $script:Work 'planted'
        $null = New-Item -ItemType Directory -Path $planted
        $marker = Join-Path $script:Work 'planted-wire-ran.txt'
        $evil = Join-Path $planted 'evil.ps1'
        Set-Content -LiteralPath $evil -Value "Set-Content -LiteralPath '$marker' -Value 'ran'; @{ Name = 'evil'; Steps = [ordered]@{ a = { 'x' } } }"
        # The attacker's workflow.start carries the path of evil.ps1 as its workflow name; its run dies mid-step.
        $attacker = Join-Path $script:Work 'attacker.ps1'
        Set-Content -LiteralPath $attacker -Value "@{ Name = '$evil'; Steps = [ordered]@{ a = { Stop-Process -Id `$PID -Force } } }"
        $crashed = Start-ChildPwsh -ScriptText "Import-Module '$script:Manifest'; Start-ArcpJob -Workflow '$attacker' | Out-Null" -Environment @{ ARCP_STORE = $store } -TimeoutSeconds 120
        $crashed.ExitCode | Should -Not -Be 0
        Remove-Item -LiteralPath $marker -ErrorAction Ignore   # only the victim's resume counts
        # A job started over the wire has no recorded definition (only the local cmdlet path records one); drop the
        # record this local start made, so the job is what a wire start leaves behind.
        & sqlite3 $store 'DELETE FROM job_definitions;'

        $interrupted = @(Get-ArcpJob -State Interrupted -Store $store)
        $interrupted.Count | Should -Be 1
        $interrupted[0].Workflow | Should -Be $evil
        $interrupted | Resume-ArcpJob -Store $store -ErrorAction SilentlyContinue -ErrorVariable failures
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'PERMISSION_DENIED*'
        $failures[0].Exception.Message | Should -BeLike '*never run from a path*'
        Test-Path -LiteralPath $marker | Should -BeFalse -Because 'the planted workflow file must never run'
    }

    It 'never runs a path written directly into the store as the workflow (planted by editing the job row)' -Skip:(-not (Get-Command sqlite3 -ErrorAction Ignore)) {
        $store = Join-Path $script:Work 'planted-row.db'
        $marker = Join-Path $script:Work 'planted-row-ran.txt'
        $evil = Join-Path $script:Work 'row-evil.ps1'
        Set-Content -LiteralPath $evil -Value "Set-Content -LiteralPath '$marker' -Value 'ran'; @{ Name = 'evil'; Steps = [ordered]@{ a = { 'x' } } }"
        $job = Start-ArcpJob -Step ([ordered]@{ a = { throw 'stop here' } }) -Store $store -ErrorAction SilentlyContinue
        # As a job from before recorded definitions (or from the wire) would be: no definition row.
        & sqlite3 $store "UPDATE jobs SET workflow = '$evil'; DELETE FROM job_definitions;"
        { Resume-ArcpJob -JobId $job.JobId -Store $store -ErrorAction Stop } | Should -Throw -ExpectedMessage '*never run from a path*'
        Test-Path -LiteralPath $marker | Should -BeFalse
    }
}

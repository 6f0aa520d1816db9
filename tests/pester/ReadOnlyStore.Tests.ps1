# Commands that only read (or remove) never create a store: a mistyped -Store is a NOT_FOUND naming the path,
# and neither the folder nor the database file appears. Start-ArcpJob still creates its store.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ArcpModulePath) -Force
    $script:Folder = New-TestFolder
    $script:Cmd = 'Arcp.Resumability.PowerShell.Commands'
}

AfterAll {
    Remove-TestFolder
}

Describe 'Reading commands on a store that does not exist' {
    It '<Cmdlet> -Store ./typo/x.db -> NOT_FOUND naming the path; no folder, no file' -ForEach @(
        @{ Cmdlet = 'Get-ArcpJob'; Arguments = @{} }
        @{ Cmdlet = 'Get-ArcpCheckpoint'; Arguments = @{ JobId = 'j1' } }
        @{ Cmdlet = 'Get-ArcpEvent'; Arguments = @{ JobId = 'j1' } }
        @{ Cmdlet = 'Receive-ArcpJob'; Arguments = @{ JobId = 'j1' } }
        @{ Cmdlet = 'Wait-ArcpJob'; Arguments = @{ JobId = 'j1'; Timeout = 1 } }
        @{ Cmdlet = 'Show-ArcpJob'; Arguments = @{ JobId = 'j1' } }
        @{ Cmdlet = 'Stop-ArcpJob'; Arguments = @{ JobId = 'j1'; Confirm = $false } }
        @{ Cmdlet = 'Remove-ArcpJob'; Arguments = @{ JobId = 'j1'; Confirm = $false } }
        @{ Cmdlet = 'Invoke-ArcpRetention'; Arguments = @{ Confirm = $false } }
    ) {
        $typoFolder = Join-Path $script:Folder "typo-$Cmdlet"
        $store = Join-Path $typoFolder 'x.db'
        $errors = $null
        $output = & $Cmdlet @Arguments -Store $store -ErrorAction SilentlyContinue -ErrorVariable errors
        $output | Should -BeNullOrEmpty
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be "NOT_FOUND,$script:Cmd.$($Cmdlet -replace '-', '')Command"
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errors[0].ErrorDetails.Message | Should -BeLike "*$store*"
        Test-Path -LiteralPath $typoFolder | Should -BeFalse -Because 'a reading command must not create the folder'
    }

    It 'an existing folder with a missing file: nothing is created in it' {
        $store = Join-Path $script:Folder 'missing.db'
        Get-ArcpJob -Store $store -ErrorAction SilentlyContinue -ErrorVariable errors | Should -BeNullOrEmpty
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'NOT_FOUND,*'
        @(Get-ChildItem -LiteralPath $script:Folder -Filter 'missing.db*').Count | Should -Be 0
    }

    It 'Start-ArcpJob still creates the store, and the reading commands then open it' {
        $store = Join-Path $script:Folder 'new/arcp.db'
        $job = Start-ArcpJob -Step ([ordered]@{ a = { 1 } }) -Store $store -ErrorAction Stop
        Test-Path -LiteralPath $store | Should -BeTrue
        (Get-ArcpJob -Store $store -ErrorAction Stop).JobId | Should -Be $job.JobId
    }
}

Describe 'Parameter conventions of Get-ArcpJob and friends' {
    BeforeAll {
        $script:Store = Join-Path $script:Folder 'conventions.db'
        $script:Alpha = Start-ArcpJob -Step ([ordered]@{ a = { 1 } }) -Name 'alpha-nightly' -Store $script:Store -ErrorAction Stop
        $script:Beta = Start-ArcpJob -Step ([ordered]@{ b = { 2 } }) -Name 'beta-nightly' -Store $script:Store -ErrorAction Stop
        $script:Gamma = Start-ArcpJob -Step ([ordered]@{ c = { 3 } }) -Name 'gamma-weekly' -Store $script:Store -ErrorAction Stop
    }

    It '-Id is an alias of -JobId on <Cmdlet>' -ForEach @(
        @{ Cmdlet = 'Get-ArcpJob' }, @{ Cmdlet = 'Get-ArcpCheckpoint' }, @{ Cmdlet = 'Get-ArcpEvent' }, @{ Cmdlet = 'Receive-ArcpJob' },
        @{ Cmdlet = 'Wait-ArcpJob' }, @{ Cmdlet = 'Show-ArcpJob' }, @{ Cmdlet = 'Stop-ArcpJob' }, @{ Cmdlet = 'Remove-ArcpJob' }, @{ Cmdlet = 'Resume-ArcpJob' }
    ) {
        (Get-Command $Cmdlet).Parameters['JobId'].Aliases | Should -Contain 'Id'
    }

    It 'Get-ArcpJob -Id with several ids returns those jobs' {
        @(Get-ArcpJob -Id $script:Alpha.JobId, $script:Gamma.JobId -Store $script:Store -ErrorAction Stop).JobId | Sort-Object |
            Should -Be (@($script:Alpha.JobId, $script:Gamma.JobId) | Sort-Object)
    }

    It 'Get-ArcpJob -Name takes several wildcard patterns' {
        @(Get-ArcpJob -Name 'alpha*', 'GAMMA-*' -Store $script:Store -ErrorAction Stop).Name | Sort-Object | Should -Be @('alpha-nightly', 'gamma-weekly')
        @(Get-ArcpJob -Name '*-nightly' -Store $script:Store -ErrorAction Stop).Count | Should -Be 2
    }

    It 'Get-ArcpJob -Workflow filters by workflow (wildcards allowed)' {
        $workflow = $script:Alpha.Workflow
        $workflow | Should -Not -BeNullOrEmpty
        @(Get-ArcpJob -Workflow $workflow -Store $script:Store -ErrorAction Stop).JobId | Should -Contain $script:Alpha.JobId
        @(Get-ArcpJob -Workflow 'no-such-workflow*' -Store $script:Store -ErrorAction Stop).Count | Should -Be 0
    }

    It 'a PowerShell job from -AsJob piped into Get-ArcpJob binds to its one ARCP job' {
        $pj = Start-ArcpJob -Step ([ordered]@{ d = { 4 } }) -Name 'as-job' -Store $script:Store -AsJob
        $null = $pj | Wait-Job -Timeout 60
        $pj.ArcpJobId | Should -Not -BeNullOrEmpty
        $found = @($pj | Get-ArcpJob -ErrorAction Stop)
        $found.Count | Should -Be 1
        $found[0].JobId | Should -Be $pj.ArcpJobId
        $pj | Remove-Job
    }

    It 'a non-ARCP PowerShell job piped into <Cmdlet> is an error, never every job' -ForEach @(
        @{ Cmdlet = 'Get-ArcpJob'; Arguments = @{} }
        @{ Cmdlet = 'Remove-ArcpJob'; Arguments = @{ Confirm = $false } }
        @{ Cmdlet = 'Stop-ArcpJob'; Arguments = @{ Confirm = $false } }
    ) {
        $plain = Start-Job { 1 }
        try {
            $errors = $null
            $output = $plain | & $Cmdlet @Arguments -Store $script:Store -ErrorAction SilentlyContinue -ErrorVariable errors
            $output | Should -BeNullOrEmpty
            $errors.Count | Should -BeGreaterThan 0
            @(Get-ArcpJob -Store $script:Store -ErrorAction Stop).Count | Should -BeGreaterOrEqual 3 -Because 'no job was removed'
        }
        finally {
            $plain | Remove-Job -Force
        }
    }
}

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

# Smoke tests for the published module folder (out/Arcp.Resumability), whose manifest path
# build.ps1 passes in $env:ARCP_MODULE_PATH. They check the folder's shape without importing the module.

BeforeAll {
    $script:ManifestPath = $env:ARCP_MODULE_PATH
    if (-not $script:ManifestPath) {
        throw 'ARCP_MODULE_PATH is not set; run the tests through ./build.ps1 test.'
    }
    $script:ModuleDir = Split-Path -Parent $script:ManifestPath
}

Describe 'Published module folder' {
    It 'has a manifest that passes Test-ModuleManifest' {
        $manifest = Test-ModuleManifest -Path $script:ManifestPath -ErrorAction Stop
        $manifest.Name | Should -Be 'Arcp.Resumability'
        $manifest.RootModule | Should -Be 'Arcp.Resumability.dll'
        Join-Path $script:ModuleDir $manifest.RootModule | Should -Exist
    }

    It 'exports the job, maintenance and runtime cmdlets and nothing else' {
        $data = Import-PowerShellDataFile -LiteralPath $script:ManifestPath
        $data.CmdletsToExport | Should -Contain 'Start-ArcpJob'
        @($data.CmdletsToExport) | Sort-Object |
            Should -Be @('Connect-ArcpRuntime', 'Disconnect-ArcpRuntime', 'Get-ArcpCheckpoint', 'Get-ArcpEvent', 'Get-ArcpJob', 'Get-ArcpSchedule', 'Get-ArcpWorkflow', 'Invoke-ArcpRetention', 'Receive-ArcpJob', 'Register-ArcpSchedule', 'Remove-ArcpJob', 'Resume-ArcpJob', 'Set-ArcpQueue', 'Show-ArcpJob', 'Start-ArcpJob', 'Start-ArcpRuntime', 'Start-ArcpWorker', 'Stop-ArcpJob', 'Stop-ArcpRuntime', 'Unregister-ArcpSchedule', 'Wait-ArcpJob')
        @($data.FunctionsToExport).Count | Should -Be 0
        @($data.AliasesToExport).Count | Should -Be 0
    }
}

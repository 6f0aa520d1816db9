@{
    RootModule           = 'Arcp.Resumability.dll'
    # Stamped from Directory.Build.props <Version> (with ReleaseNotes from CHANGELOG.md) by build.ps1 build/pack.
    ModuleVersion        = '0.1.0'
    GUID                 = '5d0f3c4e-8a3b-4c4f-9a5e-2f1b7c6d9e01'
    Author               = 'Arcp.Resumability contributors'
    CompanyName          = 'Arcp.Resumability'
    Copyright            = '(c) Arcp.Resumability contributors. MIT licence.'
    Description          = 'Crash-proof, resumable multi-step jobs for PowerShell over ARCP (Agent Runtime Control Protocol): durable checkpoints after every step, resume at the step after the last checkpoint.'
    # The lowest version claimed. The cmdlets compile against PowerShellStandard.Library 5.1 (a subset of the 7.4 API)
    # and the core targets .NET 8; only PowerShell 7.6.9 on .NET 10 is tested (see README, Requirements).
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('Arcp.Resumability.Format.ps1xml')
    CmdletsToExport      = @(
        'Start-ArcpJob'
        'Resume-ArcpJob'
        'Get-ArcpJob'
        'Get-ArcpCheckpoint'
        'Get-ArcpWorkflow'
        'Get-ArcpEvent'
        'Show-ArcpJob'
        'Wait-ArcpJob'
        'Receive-ArcpJob'
        'Stop-ArcpJob'
        'Invoke-ArcpRetention'
        'Remove-ArcpJob'
        'Start-ArcpRuntime'
        'Stop-ArcpRuntime'
        'Connect-ArcpRuntime'
        'Disconnect-ArcpRuntime'
        'Start-ArcpWorker'
        'Set-ArcpQueue'
        'Register-ArcpSchedule'
        'Get-ArcpSchedule'
        'Unregister-ArcpSchedule'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('ARCP', 'Resumability', 'Checkpoint', 'Durable', 'Jobs', 'Workflow', 'PSEdition_Core', 'Linux', 'Windows', 'MacOS')
            LicenseUri = 'https://opensource.org/licenses/MIT'
            ProjectUri = 'https://github.com/arcp-resumability/Arcp.Resumability'
        }
    }
}

@{
    Synopsis    = 'Lists the workflows this host resolves by name: the built-ins, then $env:ARCP_WORKFLOW_PATH.'
    Description = @'
Get-ArcpWorkflow shows what a workflow name means on this host, so an operator can see what Start-ArcpJob -Workflow <name> and Resume-ArcpJob (which resolves a job's recorded workflow by name only) will run. Names are looked up in the module's built-in folder first, then in each absolute folder of $env:ARCP_WORKFLOW_PATH (a path list like $env:PSModulePath; relative entries are ignored); the first <name>.ps1 found wins, and only regular .ps1 files count. Each workflow file is loaded to read its declared Version (else a hash of its content, the version checkpoints record) and its steps; a file that fails to load is reported as an error and the others are still listed.
'@
    Parameters  = @{
        Name = 'Only workflows whose name matches this wildcard pattern. Default: all.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'Objects with a Name property bind to -Name.' }
    )
    Outputs     = 'One object per resolvable workflow name: Name, Source (BuiltIn or SearchPath), Version, StepCount and Path.'
    Examples    = @(
        @{ Title = 'See what a resume will run'; Code = 'Get-ArcpWorkflow'; Remarks = 'A table of Name, Source, Version, Steps and Path.' }
        @{ Title = 'Add a folder of your own workflows'; Code = '$env:ARCP_WORKFLOW_PATH = "$HOME/arcp-workflows"; Get-ArcpWorkflow nightly*'; Remarks = 'nightly-report.ps1 in that folder is listed with Source SearchPath and can be started and resumed by name from any folder.' }
    )
    Links       = @('Start-ArcpJob', 'Resume-ArcpJob')
}

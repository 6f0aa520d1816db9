@{
    Synopsis    = 'Gets jobs from the store, optionally by id, state or name.'
    Description = @'
Get-ArcpJob lists the jobs of the store (newest first is not guaranteed; sort by CreatedAt or UpdatedAt). Each ArcpJob carries its state, last checkpoint, owner, result or error, and the store it came from, so it pipes into Resume-ArcpJob, Get-ArcpCheckpoint and the other job cmdlets.

The state Interrupted is not an ARCP state: it means the job is running according to the store but no live process holds its lease any more (the process died or closed its session), so anyone may resume it.
'@
    Parameters  = @{
        JobId = 'Only the job with this id. A missing id is an error (NOT_FOUND) unless -State is given too.'
        State = 'Only jobs in these states: Running, Interrupted, Completed, Failed or Cancelled.'
        Name  = 'Only jobs whose name matches this pattern; wildcards are allowed and matching ignores case.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'Objects with a JobId property bind to -JobId.' }
    )
    Outputs     = 'One object per matching job.'
    Examples    = @(
        @{ Title = 'List all jobs'; Code = 'Get-ArcpJob'; Remarks = 'Shows a table of JobId, Name, Workflow, State, LastCheckpoint and UpdatedAt. Use Format-List to see the result and error.' }
        @{ Title = 'Find interrupted nightly jobs'; Code = 'Get-ArcpJob -Name nightly* -State Interrupted'; Remarks = 'Jobs named nightly… whose process is gone, ready for Resume-ArcpJob.' }
    )
    Links       = @('Start-ArcpJob', 'Resume-ArcpJob')
}

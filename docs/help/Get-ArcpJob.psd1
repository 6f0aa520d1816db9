@{
    Synopsis    = 'Gets jobs from the store, optionally by id, state or name.'
    Description = @'
Get-ArcpJob lists the jobs of the store (newest first is not guaranteed; sort by CreatedAt or UpdatedAt). Each ArcpJob carries its state, last checkpoint, owner, result or error, and the store it came from, so it pipes into Resume-ArcpJob, Get-ArcpCheckpoint and the other job cmdlets.

The state Interrupted is not an ARCP state: it means the job is running according to the store but no live process holds its lease any more (the process died or closed its session), so anyone may resume it.
'@
    Parameters  = @{
        JobId    = 'Only the jobs with these ids (-Id is an alias). A missing id is an error (NOT_FOUND) unless -State is given too. Binds from piped jobs, including a PowerShell job from Start-ArcpJob -AsJob, which selects its one ARCP job.'
        State    = 'Only jobs in these states: Running, Interrupted, Completed, Failed or Cancelled.'
        Name     = 'Only jobs whose name matches one of these patterns; wildcards are allowed and matching ignores case.'
        Workflow = 'Only jobs of a workflow whose name matches one of these patterns; wildcards are allowed and matching ignores case.'
    }
    Inputs      = @(
        @{ Type = 'System.String'; Description = 'Objects with a JobId property bind to -JobId.' }
    )
    Outputs     = 'One object per matching job. A retry (Resume-ArcpJob -Retry) shows the JobId of the job it retries in RetryOf.'
    Examples    = @(
        @{ Title = 'List all jobs'; Code = 'Get-ArcpJob'; Remarks = 'Shows a table of JobId, Name, Workflow, State, LastCheckpoint and UpdatedAt. Use Format-List to see the result and error.' }
        @{ Title = 'Find interrupted nightly jobs'; Code = 'Get-ArcpJob -Name nightly* -State Interrupted'; Remarks = 'Jobs named nightly… whose process is gone, ready for Resume-ArcpJob.' }
        @{ Title = 'Jobs of one workflow, by several names'; Code = 'Get-ArcpJob -Workflow research -Name backup*, report*'; Remarks = 'Filters combine: the research jobs whose name starts with backup or report.' }
        @{ Title = 'The ARCP job behind a background job'; Code = '$pj = Start-ArcpJob -Workflow research -InputObject 3 -AsJob; $pj | Get-ArcpJob'; Remarks = 'A PowerShell job from -AsJob binds to its own ARCP job, so $pj | Stop-ArcpJob cancels just that one. Any other PowerShell job piped in is an error.' }
        @{ Title = 'Interrupted jobs across several stores'; Code = 'Get-ArcpJob -Store ./team-a.db, ./team-b.db -State Interrupted | Resume-ArcpJob'; Remarks = 'Reads both stores; each job carries the store it came from, so Resume-ArcpJob resumes it there.' }
        @{ Title = 'A mistyped store is an error'; Code = "Get-ArcpJob -Store ./typo/arcp.db -State Interrupted"; Remarks = 'NOT_FOUND naming the path; nothing is created, so a scheduled task with a wrong path fails loudly instead of seeing no interrupted jobs.' }
    )
    Links       = @('Start-ArcpJob', 'Resume-ArcpJob')
}

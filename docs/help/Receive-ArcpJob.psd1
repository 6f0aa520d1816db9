@{
    Synopsis    = 'Gets what finished jobs produced: the result of a completed job, the error of a failed or cancelled one.'
    Description = @'
Receive-ArcpJob is the counterpart of Receive-Job for ARCP jobs. For a completed job it writes the job's Result (the last step's output; a list is written item by item). For a failed or cancelled job it writes the recorded ARCP error as an error record whose FullyQualifiedErrorId starts with the ARCP code and whose target is the job. A job that is still running has no result yet: that is reported as FAILED_PRECONDITION unless -Wait is given. An interrupted job (its owner process died or its lease ran out) has no result either and does not move on by itself: with or without -Wait it is reported as FAILED_PRECONDITION naming its state, with the Resume-ArcpJob command that continues it as the recommended action.

Nothing is consumed: the result stays in the store, so receiving twice gives the same output (there is no -Keep). Use Get-ArcpEvent for the job's progress, logs and thoughts.
'@
    Parameters  = @{
        JobId = 'The ids of the jobs whose results to get. Binds from the JobId property of piped jobs. Press Tab to complete ids from the store.'
        Wait  = 'Wait for running jobs to finish instead of reporting them as an error. The wait is on an ARCP subscription (no polling) and sees jobs other processes drive; it ends early, with the error above, if the job becomes interrupted.'
    }
    Inputs      = @(
        @{ Type = 'Arcp.Resumability.PowerShell.ArcpJob'; Description = 'Jobs bind by their JobId and Store.' }
    )
    Outputs     = 'The results of the completed jobs, as PowerShell objects.'
    Examples    = @(
        @{ Title = 'The report of a research job'; Code = 'Get-ArcpJob -Name nightly-research | Receive-ArcpJob'; Remarks = 'Writes the Markdown report the research workflow produced.' }
        @{ Title = 'Wait, then receive'; Code = '$report = Receive-ArcpJob job_01J… -Wait'; Remarks = 'Blocks until the job finishes, then returns its result (or writes its error).' }
    )
    Links       = @('Wait-ArcpJob', 'Get-ArcpEvent')
}

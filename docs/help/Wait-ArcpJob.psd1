@{
    Synopsis    = 'Waits until jobs are finished (completed, failed or cancelled) and writes them; an interrupted job ends the wait with an error.'
    Description = @'
Wait-ArcpJob waits until every given job has completed, failed or been cancelled, then writes the jobs in the order they were given. It does not poll: it opens an ARCP subscription (RFC 0001 §13) on the runtime for each job and reads the job again only when the runtime reports its end or a change of its status. It works for jobs any process drives: the runtime watches the store for what other processes commit, so with the embedded default it also sees jobs that another PowerShell process runs over the same store file.

An interrupted job (its owner process died, or its lease ran out) does not move on by itself, so it ends the wait, as Wait-Job does with a suspended job: within about a second of the owner's death the job is reported as a non-terminating error (ARCP code FAILED_PRECONDITION) that names its state, and whose recommended action is the Resume-ArcpJob command that continues it. The job is the error's TargetObject.

When -Timeout expires, each unfinished job is reported as an error with the ARCP code DEADLINE_EXCEEDED (category OperationTimeout) whose recommended action says what to do next (wait longer, follow the job with Get-ArcpEvent -Follow, or stop it); the finished jobs are still written.
'@
    Parameters  = @{
        JobId   = 'The ids of the jobs to wait for. Binds from the JobId property of piped jobs. Press Tab to complete ids from the store.'
        Timeout = 'How long to wait for all the jobs, in seconds. -1 (the default) waits as long as it takes.'
    }
    Inputs      = @(
        @{ Type = 'Arcp.Resumability.PowerShell.ArcpJob'; Description = 'Jobs bind by their JobId and Store.' }
    )
    Outputs     = 'The finished jobs.'
    Examples    = @(
        @{ Title = 'Wait for the nightly jobs'; Code = 'Get-ArcpJob -Name nightly* -State Running | Wait-ArcpJob -Timeout 600'; Remarks = 'Returns the jobs once all have finished, or reports DEADLINE_EXCEEDED for those still running after ten minutes.' }
    )
    Links       = @('Receive-ArcpJob', 'Get-ArcpJob', 'Stop-ArcpJob')
}

@{
    Synopsis    = 'Waits until jobs are finished (completed, failed or cancelled) and writes them.'
    Description = @'
Wait-ArcpJob polls the store until every given job has completed, failed or been cancelled, then writes the jobs in the order they were given. It works for jobs any process drives, since it only reads the store.

An interrupted job (its process is gone) is not finished: it stays unfinished until someone resumes it, so give -Timeout when that may happen. When the timeout expires, each unfinished job is reported as an error with the ARCP code DEADLINE_EXCEEDED (category OperationTimeout) and the finished jobs are still written.
'@
    Parameters  = @{
        JobId                    = 'The ids of the jobs to wait for. Binds from the JobId property of piped jobs. Press Tab to complete ids from the store.'
        Timeout                  = 'How long to wait for all the jobs, in seconds. -1 (the default) waits as long as it takes.'
        PollIntervalMilliseconds = 'How often the store is polled, in milliseconds (50 to 60000; default 250).'
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

@{
    Synopsis    = 'Gets a job''s recorded events: progress, logs, thoughts, checkpoints and the outcome.'
    Description = @'
Get-ArcpEvent reads the job's canonical event stream from the store's event log, in recording order: job.accepted and job.started, job.progress (including the progress steps report with $ArcpStep.ReportProgress), log events (from $ArcpStep.Log and from what steps write to the Verbose, Warning, Information and Error streams), the thought stream (stream.open kind thought, one stream.chunk per $ArcpStep.Thought, stream.close), job.checkpoint after each step, and the terminal job.completed, job.failed or job.cancelled. Heartbeats are not part of the stream.

It reads through the runtime's arcpx.resumability.event_query.v1 extension query and does not take the job over, so it can watch a job another process drives. With -Follow it subscribes to the job on the runtime (ARCP subscriptions, RFC 0001 §13) and writes new events as they are recorded, without polling, until the job is finished or you press Ctrl+C. The runtime also sees what other processes record in the same store, so -Follow works for a job another PowerShell process drives.
'@
    Parameters  = @{
        After                    = 'Only events recorded after this message id (an event''s MessageId, a job''s LastMessageId or a checkpoint''s MessageId). Use it to read on from where an earlier call stopped.'
        Type                     = 'Only events of these ARCP types, for example job.progress, job.checkpoint, log or stream.chunk (thoughts). Wildcards are allowed (job.*).'
        Follow                   = 'Keep writing new events as they are recorded until the job is completed, failed or cancelled, or until Ctrl+C. An interrupted job is followed until someone resumes and finishes it.'
    }
    Inputs      = @(
        @{ Type = 'Arcp.Resumability.PowerShell.ArcpJob'; Description = 'Jobs bind by their JobId and Store.' }
    )
    Outputs     = 'One object per event: MessageId, Type, JobId, StreamId, Timestamp, Payload (as PowerShell objects), Summary and the recorded Envelope text.'
    Examples    = @(
        @{ Title = 'Everything a job recorded'; Code = 'Get-ArcpJob -Name nightly-research | Get-ArcpEvent'; Remarks = 'A table of Timestamp, Type and a one-line Summary per event.' }
        @{ Title = 'Only the thoughts and logs'; Code = "Get-ArcpEvent job_01J… -Type stream.chunk, log | Select-Object Type, Summary"; Remarks = 'Thought chunks carry the thought text; log events show their level and message.' }
        @{ Title = 'Watch a running job'; Code = 'Get-ArcpEvent job_01J… -Follow -Type job.progress, job.checkpoint'; Remarks = 'Writes progress and checkpoints as another process records them and returns when the job finishes.' }
    )
    Links       = @('Get-ArcpJob', 'Get-ArcpCheckpoint')
}

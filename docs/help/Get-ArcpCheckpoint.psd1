@{
    Synopsis    = 'Gets a job''s checkpoints in step order, with each step''s recorded output.'
    Description = @'
Get-ArcpCheckpoint lists the durable checkpoints of a job in the order they were recorded: one per completed step, labelled with the step name, with the step's output in Output and the version of the workflow definition that produced it in DefinitionVersion. Steps that a workflow runs again in a loop have one checkpoint per run. A checkpoint pipes into Resume-ArcpJob to continue the job after that step.

Without -Last or -CheckpointId the checkpoints are read a page at a time (up to 200, or about 256 KB of outputs) and each page goes down the pipeline before the next is read, so a long job's history is never held whole, and a command that stops early (Select-Object -First 3) stops the reading too. Select-Object -Last still reads every page; -Last reads only what it returns.

A checkpoint whose stored output cannot be read back (not well-formed JSON, a repeated key, a lone surrogate, nested too deep) is an error (DATA_LOSS) naming that checkpoint; -CheckpointId and -Last still read the others.
'@
    Parameters  = @{
        CheckpointId = 'Only this checkpoint (chk_…); a missing id is an error (NOT_FOUND). Press Tab to complete the checkpoints of the job given as -JobId.'
        Last         = 'Only the job''s last N checkpoints, in recording order. They are read by index, so this costs the same for a job of 10 or 100,000 steps (unlike Select-Object -Last, which reads them all). Ignored with -CheckpointId.'
    }
    Inputs      = @(
        @{ Type = 'Arcp.Resumability.PowerShell.ArcpJob'; Description = 'Jobs bind by their JobId and Store.' }
    )
    Outputs     = 'One object per checkpoint, in recording order: its step, output and definition version, and the step''s timeline: StartedAt (when the step started in the run that recorded it), Attempts (failed attempts before a crash included) and Duration. The timeline is empty for checkpoints recorded by older versions and for the checkpoint a retry carries over from its original.'
    Examples    = @(
        @{ Title = 'Show what a job recorded'; Code = 'Get-ArcpJob -Name nightly-research | Get-ArcpCheckpoint'; Remarks = 'A table of StepIndex, Step, CheckpointId and CreatedAt; the outputs are in the Output property.' }
        @{ Title = 'Resume after the latest checkpoint'; Code = 'Get-ArcpCheckpoint job_01J… -Last 1 | Resume-ArcpJob'; Remarks = 'Reads only the last checkpoint, however long the job''s history is.' }
        @{ Title = 'Read one step''s output'; Code = '(Get-ArcpCheckpoint job_01J… | Where-Object Step -EQ outline).Output'; Remarks = 'The recorded output of the outline step, as PowerShell objects.' }
    )
    Links       = @('Resume-ArcpJob', 'Get-ArcpJob')
}

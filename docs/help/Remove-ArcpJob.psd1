@{
    Synopsis    = 'Deletes a job and its whole history: events, checkpoints and idempotency records.'
    Description = @'
Remove-ArcpJob deletes a job from the store together with everything recorded for it: its event stream, its checkpoints and the idempotency records that point at it. Nothing about the job can be read or resumed afterwards, so the command asks for confirmation (ConfirmImpact High) unless -Confirm:$false is given; -WhatIf shows what would be deleted.

A job that a live process is still driving is refused unless -Force is given; with -Force that process finds the job gone and stops at its next step. To stop a job but keep its history, use Stop-ArcpJob instead.
'@
    Parameters  = @{
        JobId = 'The id of the job to delete. Binds from the JobId property of piped jobs. Press Tab to complete ids from the store.'
        Force = 'Delete the job even while a live process drives it; that process stops at its next step.'
    }
    Inputs      = @(
        @{ Type = 'Arcp.Resumability.PowerShell.ArcpJob'; Description = 'Jobs bind by their JobId and Store.' }
    )
    Outputs     = 'Nothing. With -Verbose, how many events, checkpoints and idempotency records were deleted.'
    Examples    = @(
        @{ Title = 'Delete old failed jobs'; Code = 'Get-ArcpJob -State Failed | Where-Object UpdatedAt -LT (Get-Date).AddDays(-7) | Remove-ArcpJob -Confirm:$false -Verbose'; Remarks = 'Deletes failed jobs not touched for a week and reports what each removal deleted.' }
        @{ Title = 'Preview a removal'; Code = 'Remove-ArcpJob job_01J… -WhatIf'; Remarks = 'Shows which job would be deleted; nothing changes.' }
    )
    Links       = @('Invoke-ArcpRetention', 'Stop-ArcpJob', 'Get-ArcpJob')
}

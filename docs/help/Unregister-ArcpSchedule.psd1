@{
    Synopsis    = 'Removes a cron schedule from the store; jobs it already queued stay.'
    Description = 'Unregister-ArcpSchedule deletes a schedule so no worker fires it again. Jobs it queued before are left as they are. A name that is not registered is a NOT_FOUND error. Supports -WhatIf and -Confirm.'
    Parameters  = @{
        Name = 'The schedule to remove. Binds from the Name property of piped schedules.'
    }
    Inputs      = @(
        @{ Type = 'Arcp.Resumability.PowerShell.ArcpSchedule'; Description = 'Schedules bind by their Name and Store.' }
    )
    Outputs     = 'Nothing.'
    Examples    = @(
        @{ Title = 'Remove every test schedule'; Code = 'Get-ArcpSchedule test-* | Unregister-ArcpSchedule -Confirm:$false'; Remarks = 'Deletes the schedules whose names start with test-.' }
    )
    Links       = @('Register-ArcpSchedule', 'Get-ArcpSchedule')
}

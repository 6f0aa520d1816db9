@{
    Synopsis    = 'Lists the cron schedules in the store, with their next and last fire times.'
    Description = 'Get-ArcpSchedule reads the schedules registered with Register-ArcpSchedule in the store. Pipe them to Unregister-ArcpSchedule to remove them. The jobs a schedule queued are ordinary jobs: Get-ArcpJob shows them, named "<schedule> <fire time>".'
    Parameters  = @{
        Name = 'Only schedules whose name matches; wildcards are allowed.'
    }
    Inputs      = @()
    Outputs     = 'Arcp.Resumability.PowerShell.ArcpSchedule'
    Examples    = @(
        @{ Title = 'When does each schedule fire next?'; Code = 'Get-ArcpSchedule | Format-Table Name, Cron, TimeZone, NextFireAt, LastFireAt'; Remarks = 'Lists every schedule with its next and last fire time.' }
    )
    Links       = @('Register-ArcpSchedule', 'Unregister-ArcpSchedule')
}

@{
    Synopsis    = 'Forgets this runspace''s default runtime; ARCP commands use the embedded runtime over -Store again.'
    Description = @'
Disconnect-ArcpRuntime clears the default set by Connect-ArcpRuntime for the current runspace. There is no open connection to close: every command opens and closes its own session.
'@
    Outputs     = 'Nothing.'
    Examples    = @(
        @{ Title = 'Back to the local store'; Code = 'Disconnect-ArcpRuntime; Get-ArcpJob'; Remarks = 'Lists the jobs of the default local store again.' }
    )
    Links       = @('Connect-ArcpRuntime')
}

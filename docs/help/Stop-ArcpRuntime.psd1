@{
    Synopsis    = 'Asks a runtime host to shut down gracefully; it needs an admin token.'
    Description = @'
Stop-ArcpRuntime sends the arcpx.resumability.shutdown.v1 message to the runtime given by -Runtime (or set with Connect-ArcpRuntime). The runtime acknowledges it, then stops accepting connections, ends every session and releases their jobs' leases: jobs in flight are left Interrupted at their last checkpoint and can be resumed once a runtime serves the store again. Only principals marked admin in the runtime's token file may do this; others get PERMISSION_DENIED. It works from any process or runspace that can reach the runtime.
'@
    Outputs     = 'Nothing.'
    Examples    = @(
        @{ Title = 'Stop a runtime'; Code = 'Stop-ArcpRuntime -Runtime ws://127.0.0.1:8765/arcp -Token tok-ops'; Remarks = 'The host started with Start-ArcpRuntime returns once its sessions have ended.' }
    )
    Links       = @('Start-ArcpRuntime', 'Connect-ArcpRuntime')
}

@{
    Synopsis    = 'Makes a remote runtime the default for this runspace''s ARCP commands, after checking that it accepts the token.'
    Description = @'
Connect-ArcpRuntime opens a session on the runtime given by -Runtime with -Token (or $env:ARCP_TOKEN), closes it again, and then remembers the runtime and token for the current runspace: every ARCP command run there without -Store or -Runtime talks to that runtime. Other runspaces and thread jobs keep their own default. Disconnect-ArcpRuntime forgets it.
'@
    Parameters  = @{
        PassThru = 'Write an ArcpRuntimeInfo describing the runtime: its kind, version and advertised capabilities.'
    }
    Outputs     = 'With -PassThru, an ArcpRuntimeInfo; otherwise nothing.'
    Examples    = @(
        @{ Title = 'Work against a shared runtime'; Code = "Connect-ArcpRuntime -Runtime ws://127.0.0.1:8765/arcp -Token `$env:OPS_TOKEN`nGet-ArcpJob -State Interrupted | Resume-ArcpJob"; Remarks = 'The job commands use the runtime without naming it each time.' }
    )
    Links       = @('Disconnect-ArcpRuntime', 'Start-ArcpRuntime')
}

@{
    Synopsis    = 'Hosts an ARCP runtime over WebSocket (-Listen) or stdin/stdout (-Stdio) until Ctrl+C, Stop-ArcpRuntime or the end of input.'
    Description = @'
Start-ArcpRuntime serves the store to remote clients over the ARCP protocol, in the foreground. With -Listen it accepts WebSocket connections at the given address (ws://, or wss:// with -Certificate), one ARCP session per connection, each with its own bounded send queue so a slow or dead client only ever loses its own session. With -Stdio it serves exactly one session over this process's standard input and output (newline-delimited JSON), for a client that starts it as a child process; nothing else is written to stdout then.

Clients authenticate with bearer tokens from -TokenFile (lines of "token principal", "token principal admin", or a JSON array of { token, principal, admin } objects); each principal sees only its own jobs. -AllowAnonymous also admits clients that ask for anonymous access. Clients run their steps themselves (Start-ArcpJob -Runtime …), or, for workflows registered with -Workflow, the runtime runs them (Start-ArcpJob -OnRuntime); such steps run one at a time in this command's runspace.

The host stops on Ctrl+C, when an admin principal sends Stop-ArcpRuntime, or (with -Stdio) at the end of input. Stopping stops accepting connections, ends every session and releases their jobs' leases, so jobs in flight are left Interrupted at their last checkpoint and can be resumed. Lease and heartbeat timing follow $env:ARCP_LEASE_SECONDS and $env:ARCP_HEARTBEAT_SECONDS like the embedded runtime. Diagnostics go to standard error.
'@
    Parameters  = @{
        Listen              = 'The address to serve: ws://host:port/path, or wss://host:port/path with -Certificate. The host must be an IP address or localhost; port 0 picks a free port. The address actually served is printed when the runtime is up.'
        Stdio               = 'Serve one session over standard input and output instead of listening; the command ends when the input ends.'
        TokenFile           = 'A file of bearer tokens, readable only by its owner on Unix (chmod 600; a file open to group or others is refused): one "token principal" or "token principal admin" per line (blank lines and # comments ignored), or a JSON array of { "token": …, "principal": …, "admin": true } objects. Admin principals may stop the runtime with Stop-ArcpRuntime. Without -TokenFile, -AllowAnonymous is required.'
        AllowAnonymous      = 'Also accept sessions with auth scheme "none" from clients that declare capabilities.anonymous (RFC 0001 section 8.2); they act as the local user''s principal.'
        Certificate         = 'A PFX (PKCS#12) file holding the TLS certificate and its private key, for a wss:// address.'
        CertificatePassword = 'The password of the -Certificate file.'
        Workflow            = 'Workflows (built-in names or workflow .ps1 paths) the runtime runs itself when a client starts them without running the steps (Start-ArcpJob -OnRuntime). Their names are advertised to clients in the session capabilities.'
        AllowedOrigin       = 'Web origins (for example https://app.example) whose browser pages may connect. Any upgrade request carrying an Origin header not in this list is refused with HTTP 403, so a web page cannot drive a runtime on your machine; clients that are not browsers send no Origin.'
        CorpusRoot          = 'Folders whose *.md and *.txt files the built-in research workflow may read when a client names a Corpus folder (relative names resolve against the first root; symbolic links are resolved and must stay inside). Without it, jobs the runtime runs use the module''s own corpus only. A folder outside is refused the same way whether or not it exists.'
        MaxFrameBytes       = 'The largest message accepted from a client, in bytes (default 1 MiB). A larger one is discarded without being buffered and answered with an INVALID_ARGUMENT error; the session goes on.'
        RetentionInterval   = 'Apply retention while the runtime runs: one pass at start, then one every interval (for example 01:00:00). Each pass purges events older than -EventRetention and removes finished jobs older than -CompletedJobRetention, like Invoke-ArcpRetention; checkpoints go only with their job. Passes are reported on standard error; a failed pass is reported and the schedule goes on. Without it the runtime applies no retention.'
        EventRetention      = 'With -RetentionInterval: how long events are kept (default 30 days; a bare number is days). Resuming into purged history reports DATA_LOSS and continues from the latest checkpoint.'
        CompletedJobRetention = 'With -RetentionInterval: how long completed, failed and cancelled jobs are kept after their last update (default 90 days; a bare number is days).'
    }
    Outputs     = 'Nothing. With -Listen, a line naming the address served.'
    Examples    = @(
        @{ Title = 'Serve a store on the local machine'; Code = "'tok-ops ops admin' | Set-Content tokens.txt`nStart-ArcpRuntime -Listen ws://127.0.0.1:8765/arcp -Store ./jobs.db -TokenFile ./tokens.txt -Workflow research"; Remarks = 'Clients connect with Connect-ArcpRuntime -Runtime ws://127.0.0.1:8765/arcp -Token tok-ops; research jobs can be started for the runtime to run.' }
        @{ Title = 'Serve over TLS'; Code = "Start-ArcpRuntime -Listen wss://0.0.0.0:8443/arcp -Certificate ./server.pfx -CertificatePassword (Read-Host -AsSecureString) -TokenFile ./tokens.txt"; Remarks = 'Serves wss:// with the certificate from the PFX file.' }
        @{ Title = 'Serve with retention applied every hour'; Code = "Start-ArcpRuntime -Listen ws://127.0.0.1:8765/arcp -Store ./jobs.db -TokenFile ./tokens.txt -RetentionInterval 01:00:00 -EventRetention 14 -CompletedJobRetention 60"; Remarks = 'Keeps two weeks of events and two months of finished jobs, checked hourly.' }
        @{ Title = 'A runtime as a child process over stdio'; Code = 'pwsh -NoProfile -Command "Import-Module Arcp.Resumability; Start-ArcpRuntime -Stdio -AllowAnonymous -Store ./jobs.db"'; Remarks = 'The parent process writes one JSON envelope per line to the child''s stdin and reads the answers from its stdout.' }
    )
    Links       = @('Stop-ArcpRuntime', 'Connect-ArcpRuntime', 'Start-ArcpJob')
}

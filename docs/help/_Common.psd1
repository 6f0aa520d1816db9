# Descriptions of parameters that several cmdlets share; a cmdlet's own file may override them.
@{
    Parameters = @{
        Store = @'
The store: the path of a SQLite database file, or a PostgreSQL connection string (postgresql://user@host/db or Host=...;Database=...; the password best comes from $env:ARCP_PG_PASSWORD or $env:PGPASSWORD). It holds the jobs, their event log and checkpoints. Relative file paths are resolved against the current location. Defaults to $env:ARCP_STORE, else the per-user data folder (~/.local/share/arcp/arcp.db on Linux, %LOCALAPPDATA%\Arcp\arcp.db on Windows, ~/Library/Application Support/Arcp/arcp.db on macOS).

Binds from the Store property of piped jobs, checkpoints and events, so a pipeline keeps using the store its objects came from. Get-ArcpJob accepts several stores and reads each in turn (every job it returns carries its own store, so piping them on reaches the right one); the other commands work on one store and refuse several with INVALID_ARGUMENT.

Only Start-ArcpJob (and Start-ArcpRuntime) create a store. The commands that read or remove (Get-ArcpJob, Get-ArcpCheckpoint, Get-ArcpEvent, Receive-ArcpJob, Wait-ArcpJob, Show-ArcpJob, Stop-ArcpJob, Remove-ArcpJob, Invoke-ArcpRetention) report a store file that does not exist as NOT_FOUND, naming the path, and create nothing; only the per-user default store is created on first use by any command.
'@
        Runtime = 'A remote ARCP runtime (ws://host:port/arcp or wss://…, served by Start-ArcpRuntime) to use instead of the embedded runtime over -Store. Defaults to the runtime set with Connect-ArcpRuntime in this runspace. -Runtime and -Store are mutually exclusive; jobs from a runtime carry its address in their Store property, so piping them on keeps using it.'
        Token = 'The bearer token (RFC 0001 section 8.2) that authenticates the session with -Runtime; it maps to a principal in the runtime''s token file, and a principal only ever sees its own jobs. Defaults to the token given to Connect-ArcpRuntime for the same runtime, else $env:ARCP_TOKEN; without one the session asks for anonymous access.'
        SkipCertificateCheck = 'Accept any TLS certificate from a wss:// runtime, for example a self-signed test certificate. Do not use it across networks you do not trust.'
        WhatIf = 'Shows what the command would do without changing anything.'
        Confirm = 'Asks for confirmation before the command changes anything.'
        JobId = 'The id of the job (job_…); -Id is an alias, as with Get-Job. Binds from the JobId property of piped jobs, checkpoints and events, and of a PowerShell job from Start-ArcpJob -AsJob (its ArcpJobId). A PowerShell job that is not an ARCP job binds its Id and is reported as not found, never as every job. Press Tab to complete ids from the store.'
    }
}

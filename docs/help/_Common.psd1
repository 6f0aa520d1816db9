# Descriptions of parameters that several cmdlets share; a cmdlet's own file may override them.
@{
    Parameters = @{
        Store = @'
The store: the path of a SQLite database file, or a PostgreSQL connection string (postgresql://user@host/db or Host=...;Database=...; the password best comes from $env:ARCP_PG_PASSWORD or $env:PGPASSWORD). It holds the jobs, their event log and checkpoints. Relative file paths are resolved against the current location. Defaults to $env:ARCP_STORE, else the per-user data folder (~/.local/share/arcp/arcp.db on Linux, %LOCALAPPDATA%\Arcp\arcp.db on Windows, ~/Library/Application Support/Arcp/arcp.db on macOS).

Binds from the Store property of piped jobs, checkpoints and events, so a pipeline keeps using the store its objects came from.
'@
        # For the remote-runtime parameters every cmdlet gets with issue 3 (refine when they land).
        Runtime = 'An ARCP runtime to use instead of the embedded one over -Store: its address (for example a ws:// or wss:// URL), or a connection made with Connect-ArcpRuntime.'
        Token = 'The bearer token (RFC 0001 section 8.2) that authenticates the session with -Runtime.'
        WhatIf = 'Shows what the command would do without changing anything.'
        Confirm = 'Asks for confirmation before the command changes anything.'
        JobId = 'The id of the job (job_…). Binds from the JobId property of piped jobs, checkpoints and events. Press Tab to complete ids from the store.'
    }
}

# Helpers for Pester tests that need several processes and a PostgreSQL server.
# Child processes run the pinned pwsh against the module under test ($env:ARCP_MODULE_PATH).

Set-StrictMode -Version Latest

# pwsh as an executable plus leading arguments: under `dotnet pwsh` the process is the dotnet host.
function Get-PwshCommand {
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') {
        return @($exe, (Join-Path $PSHOME 'pwsh.dll'))
    }
    return @($exe)
}

<#
.SYNOPSIS
    Starts `pwsh -File $ScriptPath @Arguments` with extra environment variables; output is drained
    into memory (Wait-ArcpChild returns it), so children never block on a full pipe.
#>
function Start-ArcpChild {
    param(
        [Parameter(Mandatory)][string]$ScriptPath,
        [string[]]$Arguments = @(),
        [hashtable]$Environment = @{}
    )
    $command = @(Get-PwshCommand)
    $start = [Diagnostics.ProcessStartInfo]::new($command[0])
    foreach ($a in @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $ScriptPath) + $Arguments) {
        $start.ArgumentList.Add([string]$a)
    }
    $start.UseShellExecute = $false
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    foreach ($key in $Environment.Keys) { $start.Environment[$key] = [string]$Environment[$key] }
    $process = [Diagnostics.Process]::Start($start)
    [pscustomobject]@{
        Process = $process
        Out     = $process.StandardOutput.ReadToEndAsync()
        Err     = $process.StandardError.ReadToEndAsync()
    }
}

function Wait-ArcpChild {
    param([Parameter(Mandatory)]$Child, [int]$TimeoutSeconds = 120)
    if (-not $Child.Process.WaitForExit($TimeoutSeconds * 1000)) {
        $Child.Process.Kill($true)
        throw "Child process $($Child.Process.Id) did not finish within $TimeoutSeconds s. Output: $($Child.Out.Result) $($Child.Err.Result)"
    }
    $Child.Process.WaitForExit()
    [pscustomobject]@{ ExitCode = $Child.Process.ExitCode; Out = $Child.Out.Result; Err = $Child.Err.Result }
}

# Waits until $Condition returns true, polling every 50 ms.
function Wait-Until {
    param([Parameter(Mandatory)][scriptblock]$Condition, [int]$TimeoutSeconds = 60, [string]$What = 'the condition')
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while (-not (& $Condition)) {
        if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out after $TimeoutSeconds s waiting for $What." }
        Start-Sleep -Milliseconds 50
    }
}

function Find-PostgresBin {
    $fromConfig = try { & pg_config --bindir 2>$null } catch { $null }
    $candidates = @($fromConfig) + @(Get-ChildItem -Path '/usr/lib/postgresql/*/bin' -Directory -ErrorAction SilentlyContinue |
            Sort-Object { [int]($_.Parent.Name -replace '\D', '0') } -Descending | ForEach-Object FullName)
    foreach ($dir in $candidates) {
        if ($dir -and (Test-Path (Join-Path $dir 'initdb')) -and (Test-Path (Join-Path $dir 'pg_ctl'))) { return $dir }
    }
    return $null
}

<#
.SYNOPSIS
    A PostgreSQL server for one test file: $env:ARCP_TEST_POSTGRES (an Npgsql connection string) when set,
    else a throwaway cluster on 127.0.0.1 at a free port (as the postgres account when running as root).
    Stores get their own schema through Search Path (the store creates it). Stop with Stop-TestPostgres.
#>
function Start-TestPostgres {
    if ($env:ARCP_TEST_POSTGRES) {
        return [pscustomobject]@{ ConnectionString = $env:ARCP_TEST_POSTGRES; DataDir = $null; Bin = $null; AsPostgres = $false }
    }
    $bin = Find-PostgresBin
    if (-not $bin) {
        throw 'PostgreSQL server binaries (initdb, pg_ctl) were not found: install them (apt-get install -y postgresql) or set ARCP_TEST_POSTGRES.'
    }
    $asPostgres = [Environment]::UserName -eq 'root'
    $dataDir = Join-Path ([IO.Path]::GetTempPath()) "arcp-pg-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $dataDir
    if ($asPostgres) { & chown postgres:postgres $dataDir }
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
    $server = [pscustomobject]@{ ConnectionString = "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"; DataDir = $dataDir; Bin = $bin; AsPostgres = $asPostgres }
    Invoke-PostgresTool $server 'initdb' @('-D', $dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions')
    Invoke-PostgresTool $server 'pg_ctl' @('-D', $dataDir, '-w', '-t', '60', '-l', (Join-Path $dataDir 'server.log'), 'start',
        '-o', "-c listen_addresses=127.0.0.1 -p $port -k $dataDir -c fsync=off -c max_connections=200")
    $server
}

function Stop-TestPostgres {
    param($Server)
    if ($Server -and $Server.DataDir) {
        Invoke-PostgresTool $Server 'pg_ctl' @('-D', $Server.DataDir, '-m', 'immediate', '-w', 'stop')
        Remove-Item -LiteralPath $Server.DataDir -Recurse -Force -ErrorAction SilentlyContinue
    }
}

function Invoke-PostgresTool($Server, [string]$Tool, [string[]]$Arguments) {
    $path = Join-Path $Server.Bin $Tool
    $output = if ($Server.AsPostgres) { & runuser -u postgres -- $path @Arguments 2>&1 } else { & $path @Arguments 2>&1 }
    if ($LASTEXITCODE -ne 0) { throw "$Tool failed ($LASTEXITCODE): $($output -join "`n")" }
}

# A store string for a fresh, empty store in its own schema of the test server.
function New-TestPostgresStore {
    param([Parameter(Mandatory)]$Server)
    "$($Server.ConnectionString);Search Path=t_$([guid]::NewGuid().ToString('N'))"
}

Export-ModuleMember -Function Get-PwshCommand, Start-ArcpChild, Wait-ArcpChild, Wait-Until, Start-TestPostgres, Stop-TestPostgres, New-TestPostgresStore

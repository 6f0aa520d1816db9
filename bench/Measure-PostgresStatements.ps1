<#
.SYNOPSIS
    Counts what one checkpointed step costs a PostgreSQL server: statements, commits and WAL records/syncs.

.DESCRIPTION
    Runs a job of -ShortSteps and one of -ShortSteps + 100 no-op steps through Start-ArcpJob, with the server's
    counters (pg_stat_statements, pg_stat_database, pg_stat_wal) reset before each, and prints the difference
    divided by 100: the per-step cost without the per-job cost. Also prints the per-job cost of the short job.

    Needs a server with pg_stat_statements in shared_preload_libraries and the extension created in the database
    of -AdminConnection (a superuser, so the counters can be reset). The store lives in a schema of its own.

.EXAMPLE
    dotnet pwsh bench/Measure-PostgresStatements.ps1 -AdminConnection 'Host=127.0.0.1;Port=55432;Username=postgres;Database=arcp'
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string]$AdminConnection,
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/Arcp.Resumability/Arcp.Resumability.psd1'),
    [ValidateRange(1, 100)][int]$ShortSteps = 5,
    # How long to wait for the server's statistics after a reset and after a job. The store's pooled connections stay
    # open, and an idle PostgreSQL 15 backend publishes its commit and WAL counters only every 10 s
    # (PGSTAT_IDLE_INTERVAL); pg_stat_statements counts at once.
    [ValidateRange(0, 60000)][int]$SettleMilliseconds = 11000
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
# The module loads Npgsql only for a PostgreSQL store; this script needs it before that.
Add-Type -LiteralPath (Join-Path (Split-Path -Parent (Resolve-Path -LiteralPath $ModulePath)) 'Npgsql.dll')

function Invoke-Sql([string]$Sql) {
    $connection = [Npgsql.NpgsqlConnection]::new($AdminConnection)
    try {
        $connection.Open()
        $command = $connection.CreateCommand()
        $command.CommandText = $Sql
        $reader = $command.ExecuteReader()
        $rows = while ($reader.Read()) { , @(for ($i = 0; $i -lt $reader.FieldCount; $i++) { $reader.GetValue($i) }) }
        $reader.Dispose()
        $rows
    }
    finally { $connection.Dispose() }
}

function Get-Counters {
    $statements = (Invoke-Sql "SELECT COALESCE(SUM(calls), 0) FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat%';")[0]
    $database = Invoke-Sql 'SELECT xact_commit FROM pg_stat_database WHERE datname = current_database();'
    $wal = Invoke-Sql 'SELECT wal_records, wal_sync FROM pg_stat_wal;'
    [pscustomobject]@{ Statements = [double]$statements; Commits = [double]$database[0]; WalRecords = [double]$wal[0]; WalSyncs = [double]$wal[1] }
}

function Measure-Job([int]$Count) {
    $steps = [ordered]@{}
    for ($i = 1; $i -le $Count; $i++) { $steps["s$i"] = { 1 } }
    $null = Invoke-Sql 'SELECT pg_stat_statements_reset(), pg_stat_reset(), pg_stat_reset_shared(''wal'');'
    Start-Sleep -Milliseconds $SettleMilliseconds
    $before = Get-Counters
    $job = Start-ArcpJob -Step $steps -Store $store
    if ($job.State -ne 'Completed') { throw "The $Count-step job ended $($job.State)." }
    Start-Sleep -Milliseconds $SettleMilliseconds
    $after = Get-Counters
    [pscustomobject]@{
        Statements = $after.Statements - $before.Statements
        Commits = $after.Commits - $before.Commits
        WalRecords = $after.WalRecords - $before.WalRecords
        WalSyncs = $after.WalSyncs - $before.WalSyncs
    }
}

$schema = 'bench_' + [guid]::NewGuid().ToString('N')
$null = Invoke-Sql "CREATE SCHEMA $schema; SELECT 1;"
$builder = [Npgsql.NpgsqlConnectionStringBuilder]::new($AdminConnection)
$builder.SearchPath = $schema
$store = $builder.ConnectionString
try {
    $null = Start-ArcpJob -Step ([ordered]@{ warm = { 1 } }) -Store $store   # creates the schema, JIT-compiles
    $short = Measure-Job $ShortSteps
    $long = Measure-Job ($ShortSteps + 100)
    foreach ($name in 'Statements', 'Commits', 'WalRecords', 'WalSyncs') {
        [pscustomobject]@{
            Counter = $name
            PerStep = [math]::Round(($long.$name - $short.$name) / 100, 2)
            "Per$($ShortSteps)StepJob" = $short.$name
        }
    }
}
finally {
    $null = Invoke-Sql "DROP SCHEMA $schema CASCADE; SELECT 1;"
}

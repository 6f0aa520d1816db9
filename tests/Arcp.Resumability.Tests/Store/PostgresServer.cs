using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Arcp.Resumability.Tests.Store;

/// <summary>
/// A real PostgreSQL server for the test run: <c>$ARCP_TEST_POSTGRES</c> (an admin connection string) when set,
/// otherwise a throwaway cluster this fixture creates with initdb in a temp folder, starts on 127.0.0.1 at a
/// free port, and stops and deletes at the end. Missing server binaries fail the tests that need it.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string EnvironmentVariable = "ARCP_TEST_POSTGRES";
    private const string DatabaseName = "arcp_tests";
    private readonly bool ownCluster;
    private string? dataDirectory;
    private string? binDirectory;
    private bool asPostgresUser;
    private string[] startArguments = [];

    public PostgresServer()
    {
    }

    /// <param name="ownCluster">Always a throwaway cluster of its own, even when <c>$ARCP_TEST_POSTGRES</c> is set, so a test may stop and restart it.</param>
    internal PostgresServer(bool ownCluster) => this.ownCluster = ownCluster;

    /// <summary>Connection string of the test database (every test works in a schema of its own).</summary>
    public string ConnectionString { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        var admin = ownCluster ? null : Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrWhiteSpace(admin))
        {
            admin = await StartClusterAsync();
        }

        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var exists = new NpgsqlCommand($"SELECT 1 FROM pg_database WHERE datname = '{DatabaseName}';", connection);
            if (await exists.ExecuteScalarAsync() is null)
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE {DatabaseName};", connection);
                await create.ExecuteNonQueryAsync();
            }
        }

        ConnectionString = new NpgsqlConnectionStringBuilder(admin) { Database = DatabaseName }.ConnectionString;
    }

    /// <summary>A new empty schema; the returned connection string makes it the store's home through Search Path.</summary>
    public async Task<string> CreateSchemaAsync()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE SCHEMA {schema};", connection);
        await command.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (dataDirectory is null || binDirectory is null)
        {
            return;
        }

        // A test that stopped the server and failed before starting it again leaves nothing to stop.
        if (File.Exists(Path.Combine(dataDirectory, "postmaster.pid")))
        {
            await RunAsync(Path.Combine(binDirectory, "pg_ctl"), ["-D", dataDirectory, "-m", "immediate", "-w", "stop"]);
        }

        Directory.Delete(dataDirectory, recursive: true);
    }

    /// <summary>Stops the server as a crash would (<c>pg_ctl -m immediate</c>: no checkpoint, every connection cut).</summary>
    public Task StopImmediatelyAsync() => RunAsync(Path.Combine(OwnedBinDirectory, "pg_ctl"), ["-D", dataDirectory!, "-m", "immediate", "-w", "stop"]);

    /// <summary>Starts the stopped server again on the same port; it recovers from its WAL first.</summary>
    public Task StartAgainAsync() => RunAsync(Path.Combine(OwnedBinDirectory, "pg_ctl"), startArguments);

    private string OwnedBinDirectory => dataDirectory is not null && binDirectory is not null
        ? binDirectory
        : throw new InvalidOperationException("Only a cluster this fixture created can be stopped and started.");

    private async Task<string> StartClusterAsync()
    {
        binDirectory = FindBinDirectory() ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found, so the PostgreSQL store tests cannot run. " +
            $"Install them (apt-get install -y postgresql), put pg_config on PATH, or set {EnvironmentVariable} to an admin connection string.");
        asPostgresUser = Environment.UserName == "root";
        dataDirectory = Path.Combine(Path.GetTempPath(), "arcp-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        if (asPostgresUser)
        {
            // initdb refuses to run as root; the cluster belongs to the postgres account.
            await RunAsync("chown", ["postgres:postgres", dataDirectory], direct: true);
        }

        await RunAsync(Path.Combine(binDirectory, "initdb"), ["-D", dataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
        var port = FreePort();
        startArguments = [
            "-D", dataDirectory, "-w", "-t", "60", "-l", Path.Combine(dataDirectory, "server.log"), "start",
            "-o", $"-c listen_addresses=127.0.0.1 -p {port} -k {dataDirectory} -c fsync=off -c synchronous_commit=on -c max_connections=200"];
        await RunAsync(Path.Combine(binDirectory, "pg_ctl"), startArguments);
        return $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres";
    }

    private static string? FindBinDirectory()
    {
        try
        {
            using var pgConfig = Process.Start(new ProcessStartInfo("pg_config", "--bindir") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            var output = pgConfig!.StandardOutput.ReadToEnd().Trim();
            pgConfig.WaitForExit();
            if (pgConfig.ExitCode == 0 && File.Exists(Path.Combine(output, "initdb")) && File.Exists(Path.Combine(output, "pg_ctl")))
            {
                return output;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No pg_config on PATH; Debian keeps the server binaries in a versioned folder instead.
        }

        return Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task RunAsync(string file, string[] arguments, bool direct = false)
    {
        var start = new ProcessStartInfo(asPostgresUser && !direct ? "runuser" : file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (asPostgresUser && !direct)
        {
            foreach (var prefix in new[] { "-u", "postgres", "--", file })
            {
                start.ArgumentList.Add(prefix);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{file} {string.Join(' ', arguments)}' exited with {process.ExitCode}: {await output} {await error}");
        }
    }
}

/// <summary>
/// The PostgreSQL tests run one class at a time. Every class that opens a PostgreSQL store through
/// <c>StoreFactory</c> belongs here, even on a server of its own or an unreachable one: they all share the process's
/// data sources (<c>PostgresDataSources</c>), whose eviction of the least recently released <c>PostgresPoolTests</c> counts.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PostgresTests : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL";
}

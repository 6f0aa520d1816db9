using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Arcp.Resumability.Bench;

/// <summary>
/// A PostgreSQL server of the benchmark's own, as the tests start one: initdb in a temp folder (as the postgres
/// account when running as root, which initdb refuses), listening on 127.0.0.1 only at a free port, fsync and
/// synchronous_commit on so commits cost what they cost; stopped and deleted on dispose.
/// </summary>
internal sealed class ThrowawayPostgres : IAsyncDisposable
{
    private readonly string binDirectory;
    private readonly string dataDirectory;
    private readonly bool asPostgresUser = Environment.UserName == "root";
    private bool started;

    private ThrowawayPostgres(string binDirectory, string dataDirectory)
    {
        this.binDirectory = binDirectory;
        this.dataDirectory = dataDirectory;
    }

    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>Starts a server, or returns null when no PostgreSQL server binaries are installed.</summary>
    public static async Task<ThrowawayPostgres?> StartAsync(CancellationToken cancellationToken)
    {
        if (FindBinDirectory() is not { } bin)
        {
            return null;
        }

        var server = new ThrowawayPostgres(bin, Path.Combine(Path.GetTempPath(), "arcp-bench-pg-" + Guid.NewGuid().ToString("N")));
        try
        {
            Directory.CreateDirectory(server.dataDirectory);
            if (server.asPostgresUser)
            {
                await server.RunAsync("chown", ["postgres:postgres", server.dataDirectory], direct: true, cancellationToken);
            }

            await server.RunAsync(Path.Combine(bin, "initdb"), ["-D", server.dataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-instructions"], direct: false, cancellationToken);
            var port = FreePort();
            server.started = true;
            await server.RunAsync(
                Path.Combine(bin, "pg_ctl"),
                ["-D", server.dataDirectory, "-w", "-t", "60", "-l", Path.Combine(server.dataDirectory, "server.log"), "start",
                 "-o", $"-c listen_addresses=127.0.0.1 -p {port} -k {server.dataDirectory} -c synchronous_commit=on -c max_connections=100"],
                direct: false,
                cancellationToken);
            server.ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Maximum Pool Size=40";
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        try
        {
            if (started && File.Exists(Path.Combine(dataDirectory, "postmaster.pid")))
            {
                await RunAsync(Path.Combine(binDirectory, "pg_ctl"), ["-D", dataDirectory, "-m", "fast", "-w", "stop"], direct: false, CancellationToken.None);
            }
        }
        finally
        {
            if (Directory.Exists(dataDirectory))
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
        }
    }

    private static string? FindBinDirectory() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task RunAsync(string file, string[] arguments, bool direct, CancellationToken cancellationToken)
    {
        var runAs = asPostgresUser && !direct;
        var start = new ProcessStartInfo(runAs ? "runuser" : file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (runAs ? new[] { "-u", "postgres", "--", file } : []).Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start '{file}'.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{file} {string.Join(' ', arguments)}' exited with {process.ExitCode}: {await output} {await error}");
        }
    }
}

using System.Diagnostics;
using System.Text.Json.Nodes;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>
/// The stdio transport through real processes: <c>pwsh -c "Start-ArcpRuntime -Stdio"</c> serves a raw
/// JSON session on its stdin/stdout; a second process over the same store replays what the first recorded.
/// </summary>
public sealed class ChildProcessStdioTests : IDisposable
{
    private readonly TestStore store = new();

    [Fact]
    public async Task A_job_recorded_through_one_stdio_runtime_process_is_replayed_byte_for_byte_by_another()
    {
        string jobId;
        List<string> recorded;
        await using (var first = StdioRuntime.Start(store.Path))
        {
            var peer = new RawPeer(first.Connection);
            Assert.Equal("session.accepted", (await peer.OpenAsync(null)).Type());
            jobId = await peer.StartJobAsync("mine", "in", new JsonObject { ["extensions"] = new JsonObject { ["arcpx.resumability.driver.v1"] = "client" } });
            var checkpoint = peer.Envelope(
                "job.checkpoint",
                new JsonObject { ["checkpoint_id"] = "chk_child", ["label"] = "one", ["snapshot"] = new JsonObject { ["step"] = "one", ["step_index"] = 0, ["step_count"] = 2, ["output"] = "out" } },
                new JsonObject { ["job_id"] = jobId, ["idempotency_key"] = "k1" });
            Assert.Equal("ack", (await peer.RequestAsync(checkpoint)).Type());
            recorded = [.. peer.Received.Where(f => f.Contains("\"job.accepted\"", StringComparison.Ordinal) || f.Contains("\"job.started\"", StringComparison.Ordinal)), checkpoint.ToJsonString()];
            Assert.Equal(0, await first.EndAsync());
        }

        await using var second = StdioRuntime.Start(store.Path);
        var resumer = new RawPeer(second.Connection);
        await resumer.OpenAsync(null);
        await resumer.SendAsync(resumer.Envelope("resume", new JsonObject(), new JsonObject { ["job_id"] = jobId }));
        Assert.Equal("ack", (await resumer.ReceiveAsync()).Type());
        var (marker, replayed) = await resumer.ReceiveUntilAsync("event.emit");

        Assert.Equal(recorded, resumer.Received.Skip(resumer.Received.Count - 1 - replayed.Count).Take(replayed.Count));
        Assert.Equal("chk_child", (string?)marker.Payload()["data"]!["checkpoint"]!["checkpoint_id"]);
        Assert.Equal(0, await second.EndAsync());
    }

    public void Dispose() => store.Dispose();

    /// <summary>A child pwsh serving one ARCP session over its stdin/stdout.</summary>
    internal sealed class StdioRuntime : IAsyncDisposable
    {
        private readonly Process process;

        private StdioRuntime(Process process)
        {
            this.process = process;
            Connection = new StreamConnection(process.StandardOutput.BaseStream, process.StandardInput.BaseStream);
        }

        public StreamConnection Connection { get; }

        public static StdioRuntime Start(string storePath)
        {
            var manifest = Path.Combine(AppContext.BaseDirectory, "Arcp.Resumability.psd1");
            var script = $"Import-Module '{manifest}'; Start-ArcpRuntime -Stdio -Store '{storePath}' -AllowAnonymous";
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = RepositoryRoot(),
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = false,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-Command", script })
            {
                start.ArgumentList.Add(argument);
            }

            return new StdioRuntime(Process.Start(start) ?? throw new InvalidOperationException("pwsh did not start."));
        }

        /// <summary>Closes stdin (the end of the session) and waits for the process to exit by itself.</summary>
        public async Task<int> EndAsync()
        {
            Connection.Close();
            await Connection.DisposeAsync();
            using var timeout = new CancellationTokenSource(RawPeer.Timeout);
            await process.WaitForExitAsync(timeout.Token);
            return process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            await Connection.DisposeAsync();
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        private static string RepositoryRoot()
        {
            // `dotnet pwsh` resolves through the repository's tool manifest.
            var folder = new DirectoryInfo(AppContext.BaseDirectory);
            while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "dotnet-tools.json")) && !File.Exists(Path.Combine(folder.FullName, ".config", "dotnet-tools.json")))
            {
                folder = folder.Parent;
            }

            return folder?.FullName ?? throw new InvalidOperationException("No dotnet tool manifest above the test folder.");
        }
    }
}

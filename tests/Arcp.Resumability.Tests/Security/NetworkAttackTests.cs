using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Runtime.Hosting;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Conformance;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Security;

/// <summary>Issue 9, findings 8, 10 and 11: idle sockets, a hostile web page and an anonymous stranger against a hosted runtime.</summary>
[Trait("Category", "Security")]
public sealed class NetworkAttackTests : IDisposable
{
    private static readonly Dictionary<string, string> Tokens = new() { ["tok"] = "alice" };
    private readonly TestStore storeFolder = new();

    [Fact]
    public async Task Fifty_idle_tcp_connections_do_not_delay_a_new_client()
    {
        await using var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens });
        // Idle handshakes would each hold the old one-at-a-time accept loop for this long.
        var limits = new WebSocketListenerOptions { HandshakeTimeout = TimeSpan.FromMinutes(2), MaxConnectionsPerAddress = 100 };
        await using var host = ArcpWebSocketHost.Start(runtime, new Uri("ws://127.0.0.1:0/arcp"), null, null, limits);
        var idle = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 50; i++)
            {
                var client = new TcpClient();
                await client.ConnectAsync(host.Address.Host, host.Address.Port);
                idle.Add(client);
            }

            // Under a serial accept loop this waits behind all fifty idle peers (minutes); concurrently it goes straight through.
            var connecting = Task.Run(async () =>
            {
                await using var peer = new RawPeer(await WebSocketConnection.ConnectAsync(host.Address, null, null, CancellationToken.None));
                return (string?)(await peer.OpenAsync("tok"))["type"];
            });

            Assert.Equal("session.accepted", await connecting.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.True(host.OpenConnections >= 50, $"only {host.OpenConnections} connections are counted open");
        }
        finally
        {
            idle.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task Idle_connections_beyond_the_per_address_limit_are_closed_at_once()
    {
        await using var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens });
        var limits = new WebSocketListenerOptions { HandshakeTimeout = TimeSpan.FromMinutes(2), MaxConnectionsPerAddress = 5 };
        await using var host = ArcpWebSocketHost.Start(runtime, new Uri("ws://127.0.0.1:0/arcp"), null, null, limits);
        var idle = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                var client = new TcpClient();
                await client.ConnectAsync(host.Address.Host, host.Address.Port);
                idle.Add(client);
            }

            using var sixth = new TcpClient();
            await sixth.ConnectAsync(host.Address.Host, host.Address.Port);
            var buffer = new byte[1];
            // The runtime closes the sixth connection: the read ends (0 bytes or a reset) instead of waiting.
            var read = sixth.GetStream().ReadAsync(buffer).AsTask();
            var ended = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.Same(read, ended);
            int received;
            try
            {
                received = await read;
            }
            catch (IOException)
            {
                received = 0; // reset by the runtime: closed just the same
            }

            Assert.Equal(0, received);

            idle.ForEach(c => c.Dispose());
            // Closing the idle ones frees their slots again.
            for (var attempt = 0; attempt < 100 && host.OpenConnections > 0; attempt++)
            {
                await Task.Delay(100);
            }

            await using var peer = new RawPeer(await WebSocketConnection.ConnectAsync(host.Address, null, null, CancellationToken.None));
            Assert.Equal("session.accepted", (string?)(await peer.OpenAsync("tok"))["type"]);
        }
        finally
        {
            idle.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task Upgraded_sockets_that_never_open_a_session_are_closed_after_the_deadline()
    {
        await using var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens });
        await using var host = ArcpWebSocketHost.Start(runtime, new Uri("ws://127.0.0.1:0/arcp"), null, null, null, TimeSpan.FromSeconds(2));
        var silent = new List<WebSocketConnection>();
        for (var i = 0; i < 10; i++)
        {
            silent.Add(await WebSocketConnection.ConnectAsync(host.Address, null, null, CancellationToken.None));
        }

        // One more that keeps guessing tokens: wrong answers do not extend its deadline.
        var guesser = new RawPeer(await WebSocketConnection.ConnectAsync(host.Address, null, null, CancellationToken.None));
        Assert.Equal("session.rejected", (string?)(await guesser.OpenAsync("guess-1"))["type"]);
        var authenticated = new RawPeer(await WebSocketConnection.ConnectAsync(host.Address, null, null, CancellationToken.None));
        Assert.Equal("session.accepted", (string?)(await authenticated.OpenAsync("tok"))["type"]);

        // Each silent socket's receive ends: the runtime closed it.
        foreach (var connection in silent)
        {
            Assert.Null(await connection.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        }

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            while (true)
            {
                await guesser.OpenAsync("guess-again");
            }
        }).WaitAsync(TimeSpan.FromSeconds(30));

        // The authenticated session outlives the deadline.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var answer = await authenticated.RequestAsync(authenticated.Envelope("ping", new JsonObject { ["nonce"] = "n" }));
        Assert.Equal("pong", (string?)answer["type"]);
        Assert.Equal(1, host.ActiveSessions);
        foreach (var connection in silent)
        {
            await connection.DisposeAsync();
        }

        await guesser.DisposeAsync();
        await authenticated.DisposeAsync();
    }

    [Theory]
    [InlineData("https://evil.example", "403")]
    [InlineData("null", "403")]
    [InlineData("https://app.example", "101")]
    public async Task A_web_page_from_an_origin_the_operator_did_not_allow_is_refused(string origin, string status)
    {
        await using var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens });
        await using var host = ArcpWebSocketHost.Start(runtime, new Uri("ws://127.0.0.1:0/arcp"), null, null, new WebSocketListenerOptions { AllowedOrigins = ["https://app.example"] });

        var answer = await RawUpgradeAsync(host.Address, $"Origin: {origin}\r\n");

        Assert.StartsWith($"HTTP/1.1 {status} ", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_raw_upgrade_with_an_evil_origin_is_refused_when_no_origin_is_allowed_while_a_client_without_origin_connects()
    {
        await using var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens });
        await using var host = ArcpWebSocketHost.Start(runtime, new Uri("ws://127.0.0.1:0/arcp"), null, null);

        Assert.StartsWith("HTTP/1.1 403 ", await RawUpgradeAsync(host.Address, "Origin: https://evil.example\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 101 ", await RawUpgradeAsync(host.Address, string.Empty), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_remote_anonymous_session_cannot_read_a_local_users_job()
    {
        string localJob;
        await using (var local = await EmbeddedArcp.OpenAsync(storeFolder.Path, null, CancellationToken.None))
        {
            var workflow = new CountingWorkflow("secret");
            var run = await new Arcp.Resumability.Steps.StepRunner(local.Client).StartAsync(workflow.Definition, JsonValue.Create("local-secret-output"), null, null, null, CancellationToken.None);
            localJob = run.JobId;
        }

        await using var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { AllowAnonymous = true });
        await using var host = ArcpWebSocketHost.Start(runtime, new Uri("ws://127.0.0.1:0/arcp"), null, null);
        await using var stranger = new RawPeer(await WebSocketConnection.ConnectAsync(host.Address, null, null, CancellationToken.None));
        Assert.Equal("session.accepted", (string?)(await stranger.OpenAsync(null))["type"]);

        var byId = await stranger.RequestAsync(stranger.Envelope("arcpx.resumability.job_query.v1", new JsonObject { ["job_id"] = localJob }));
        var all = await stranger.RequestAsync(stranger.Envelope("arcpx.resumability.job_query.v1", new JsonObject()));
        var checkpoints = await stranger.RequestAsync(stranger.Envelope("arcpx.resumability.checkpoint_query.v1", new JsonObject { ["job_id"] = localJob, ["include_output"] = true }));
        var resume = await stranger.RequestAsync(stranger.Envelope("resume", new JsonObject(), new JsonObject { ["job_id"] = localJob }));

        Assert.Empty(byId.Payload()["jobs"]!.AsArray());
        Assert.Empty(all.Payload()["jobs"]!.AsArray());
        Assert.Equal("nack", (string?)resume["type"]);
        Assert.NotEqual("arcpx.resumability.checkpoint_list.v1", (string?)checkpoints["type"]);
        Assert.DoesNotContain(stranger.Received, frame => frame.Contains("local-secret-output", StringComparison.Ordinal));
        Assert.NotEqual(RuntimeOptions.LocalPrincipal, runtime.Options.AnonymousPrincipal);
    }

    public void Dispose() => storeFolder.Dispose();

    private static async Task<string> RawUpgradeAsync(Uri address, string extraHeaders)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port);
        var stream = client.GetStream();
        var request = $"GET {address.AbsolutePath} HTTP/1.1\r\nHost: {address.Host}:{address.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + $"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extraHeaders}\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[1024];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        return Encoding.ASCII.GetString(buffer, 0, read);
    }
}

using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Runtime.Hosting;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Conformance;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Tests.Store;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Security;

/// <summary>Issue 9, finding 9 (rest): guessing bearer tokens as fast as the runtime answers.</summary>
[Trait("Category", "Security")]
public sealed class AuthenticationThrottleAttackTests : IDisposable
{
    private static readonly Dictionary<string, string> Tokens = new() { ["right-token"] = "alice" };
    private readonly TestStore storeFolder = new();

    [Fact]
    public async Task Guessing_tokens_from_one_address_is_rate_limited_and_even_the_right_token_is_not_checked_until_the_wait_is_over()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var store = await SqliteArcpStore.OpenAsync(storeFolder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens, Clock = clock });
        await using var host = ArcpWebSocketHost.Start(runtime, new Uri("ws://127.0.0.1:0/arcp"), null, null, authenticationThrottle: new AuthenticationThrottleOptions { FailuresPerMinute = 5 });

        await using var guesser = await ConnectAsync(host.Address, IPAddress.Loopback);
        for (var i = 0; i < 5; i++)
        {
            var wrong = await guesser.OpenAsync($"guess-{i}");
            Assert.Equal("session.rejected", wrong.Type());
            Assert.Equal("UNAUTHENTICATED", (string?)wrong.Payload()["code"]);
        }

        // The sixth attempt carries the right token, yet is refused unchecked: a guesser cannot tell a hit from a miss.
        var throttled = await guesser.OpenAsync("right-token");
        Assert.Equal("session.rejected", throttled.Type());
        Assert.Equal("RATE_LIMITED", (string?)throttled.Payload()["code"]);
        var retryAfter = (long)throttled.Payload()["details"]!["retry_after_ms"]!;
        Assert.InRange(retryAfter, 1, 12_000);

        // A fresh connection from the same address shares the limit.
        await using var reconnected = await ConnectAsync(host.Address, IPAddress.Loopback);
        Assert.Equal("RATE_LIMITED", (string?)(await reconnected.OpenAsync("right-token")).Payload()["code"]);

        // Another address is not held back by this one's guesses.
        await using (var neighbour = await ConnectAsync(host.Address, IPAddress.Parse("127.0.0.2")))
        {
            Assert.Equal("session.accepted", (await neighbour.OpenAsync("right-token")).Type());
        }

        clock.Advance(TimeSpan.FromMilliseconds(retryAfter));
        Assert.Equal("session.accepted", (await reconnected.OpenAsync("right-token")).Type());

        // Successful opens cost nothing: many in a row from the throttled address all go through.
        for (var i = 0; i < 8; i++)
        {
            await using var peer = await ConnectAsync(host.Address, IPAddress.Loopback);
            Assert.Equal("session.accepted", (await peer.OpenAsync("right-token")).Type());
        }

        // The one token that refilled was spent by nobody else: the next wrong guess is checked, the one after is refused.
        await using var late = await ConnectAsync(host.Address, IPAddress.Loopback);
        Assert.Equal("UNAUTHENTICATED", (string?)(await late.OpenAsync("guess-late")).Payload()["code"]);
        Assert.Equal("RATE_LIMITED", (string?)(await late.OpenAsync("guess-later")).Payload()["code"]);
    }

    [Fact]
    public void A_limit_below_one_failure_per_minute_is_refused_when_the_host_starts()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AuthenticationThrottleOptions { FailuresPerMinute = 0 }.Validate());
    }

    public void Dispose() => storeFolder.Dispose();

    /// <summary>A raw peer whose TCP connection comes from <paramref name="source"/> (any 127.x address reaches a loopback listener on Linux).</summary>
    private static async Task<RawPeer> ConnectAsync(Uri address, IPAddress source)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var client = new ClientWebSocket();
        await client.ConnectAsync(address, new HttpMessageInvoker(handler), CancellationToken.None);
        return new RawPeer(new WebSocketConnection(client));
    }
}

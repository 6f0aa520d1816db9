using System.Globalization;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Runtime.Hosting;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Conformance;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Security;

/// <summary>
/// What the frame fuzzers share: the run's length and seed (ARCP_FUZZ_FRAMES, ARCP_FUZZ_SEED; build.ps1 fuzz sets
/// them), a WebSocket runtime host on a fresh SQLite store that hostile clients may fail to authenticate against
/// as often as they like, and the check that no answer gave away the runtime's insides.
/// </summary>
internal sealed class FuzzedWebSocketHost : IAsyncDisposable
{
    private readonly SqliteArcpStore store;
    private readonly ArcpRuntime runtime;
    private readonly ArcpWebSocketHost host;

    private FuzzedWebSocketHost(SqliteArcpStore store, ArcpRuntime runtime, ArcpWebSocketHost host)
    {
        this.store = store;
        this.runtime = runtime;
        this.host = host;
    }

    /// <summary>Frames a run sends (2,000 unless ARCP_FUZZ_FRAMES says otherwise).</summary>
    public static int FrameCount => int.TryParse(Environment.GetEnvironmentVariable("ARCP_FUZZ_FRAMES"), CultureInfo.InvariantCulture, out var count) ? count : 2000;

    /// <summary>ARCP_FUZZ_SEED when set, so a failed run can be repeated; a fresh seed otherwise.</summary>
    public static int Seed => int.TryParse(Environment.GetEnvironmentVariable("ARCP_FUZZ_SEED"), CultureInfo.InvariantCulture, out var seed) ? seed : Environment.TickCount;

    /// <summary>The frame limit of both ends: 64 KB, so the fuzzers' oversized frames are oversized.</summary>
    public static TransportOptions Transport { get; } = new() { MaxFrameBytes = 64 * 1024 };

    public Uri Address => host.Address;

    public int OpenConnections => host.OpenConnections;

    /// <param name="limits">Connection caps, where the default ones would count the fuzzer's broken-off connections.</param>
    /// <param name="sessionOpenTimeout">How soon a connection that never opens a session is reclaimed.</param>
    public static async Task<FuzzedWebSocketHost> StartAsync(string storePath, WebSocketListenerOptions? limits = null, TimeSpan? sessionOpenTimeout = null)
    {
        var store = await SqliteArcpStore.OpenAsync(storePath, CancellationToken.None);
        var runtime = new ArcpRuntime(store, new RuntimeOptions { AllowAnonymous = true });
        // Refused opens are probes here, not guessing: the failed-authentication limit is not under test.
        var probesAllowed = new AuthenticationThrottleOptions { FailuresPerMinute = 100_000 };
        return new FuzzedWebSocketHost(store, runtime, ArcpWebSocketHost.Start(runtime, new Uri("ws://127.0.0.1:0/arcp"), null, Transport, limits, sessionOpenTimeout, probesAllowed));
    }

    /// <summary>Every answer is an ARCP frame, never a .NET type name or a stack trace.</summary>
    public static void AssertNothingLeaked(IEnumerable<string> answers)
    {
        foreach (var answer in answers)
        {
            Assert.DoesNotContain("Arcp.Resumability.", answer, StringComparison.Ordinal);
            Assert.DoesNotContain("System.", answer, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", answer, StringComparison.Ordinal);
        }
    }

    /// <summary>A client that connects after the fuzzing still gets a session.</summary>
    public async Task AssertNewcomerAcceptedAsync()
    {
        await using var fresh = await ConnectPeerAsync();
        Assert.Equal("session.accepted", (await fresh.OpenAsync(null)).Type());
    }

    public async Task<RawPeer> ConnectPeerAsync() => new(await WebSocketConnection.ConnectAsync(Address, Transport, null, CancellationToken.None));

    public async ValueTask DisposeAsync()
    {
        await host.DisposeAsync();
        await runtime.DisposeAsync();
        await store.DisposeAsync();
    }
}

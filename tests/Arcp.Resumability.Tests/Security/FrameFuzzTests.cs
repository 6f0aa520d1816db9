using System.Text;
using System.Text.Json.Nodes;
using Arcp.Resumability.Tests.Conformance;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Transports;
using Xunit.Abstractions;

namespace Arcp.Resumability.Tests.Security;

/// <summary>
/// Issue 9, finding 2: thousands of seeded malformed frames, before and after authentication, against one runtime
/// per transport. The runtime must answer probes throughout, name no .NET type and show no stack trace.
/// ARCP_FUZZ_SEED reproduces a run; ARCP_FUZZ_FRAMES sets its length (build.ps1 fuzz runs 10,000).
/// </summary>
[Trait("Category", "Security")]
public sealed class FrameFuzzTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] SafeTypes = ["ping", "job.progress", "arcpx.resumability.job_query.v1", "event.emit", "x.unknown.v1", "cancel", "resume", "subscribe", "session.open"];
    private readonly TestStore folder = new();

    private static int FrameCount => FuzzedWebSocketHost.FrameCount;

    [Fact]
    public async Task Malformed_frames_through_a_stdio_runtime_process_never_kill_or_hang_it()
    {
        var seed = FuzzedWebSocketHost.Seed;
        output.WriteLine($"seed {seed}, {FrameCount} frames (ARCP_FUZZ_SEED={seed} reproduces)");
        await using var child = ChildProcessStdioTests.StdioRuntime.Start(folder.Path);
        await using var peer = new RawPeer(child.Connection);
        await FuzzAsync(peer, new Random(seed), FrameCount);
    }

    [Fact]
    public async Task Malformed_frames_and_rapid_reconnects_through_a_websocket_host_never_kill_or_hang_it()
    {
        var seed = FuzzedWebSocketHost.Seed;
        output.WriteLine($"seed {seed}, {FrameCount} frames (ARCP_FUZZ_SEED={seed} reproduces)");
        await using var host = await FuzzedWebSocketHost.StartAsync(folder.Path);
        for (var i = 0; i < 30; i++)
        {
            // Rapid connects and disconnects, some mid-frame-stream.
            var quick = await WebSocketConnection.ConnectAsync(host.Address, FuzzedWebSocketHost.Transport, null, CancellationToken.None);
            if (i % 2 == 0)
            {
                await quick.SendAsync("{\"arcp\":", CancellationToken.None);
            }

            await quick.DisposeAsync();
        }

        await using (var peer = await host.ConnectPeerAsync())
        {
            await FuzzAsync(peer, new Random(seed), FrameCount);
        }

        await host.AssertNewcomerAcceptedAsync();
    }

    /// <summary>Half the frames before the session is open (probed with a refused open), half after (probed with ping).</summary>
    private static async Task FuzzAsync(RawPeer peer, Random random, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var authenticated = i >= count / 2;
            if (i == count / 2)
            {
                Assert.Equal("session.accepted", (await peer.OpenAsync(null)).Type());
            }

            await peer.SendRawAsync(Malformed(random, peer, authenticated));
            if (i % 50 == 49)
            {
                var probe = authenticated ? peer.Envelope("ping") : peer.Envelope("session.open", new JsonObject { ["auth"] = new JsonObject { ["scheme"] = "bearer", ["token"] = "wrong" } });
                var answer = await peer.RequestAsync(probe);
                Assert.Equal(authenticated ? "pong" : "session.rejected", answer.Type());
            }
        }

        Assert.Equal("pong", (await peer.RequestAsync(peer.Envelope("ping"))).Type());
        FuzzedWebSocketHost.AssertNothingLeaked(peer.Received);
    }

    private static string Malformed(Random random, RawPeer peer, bool authenticated)
    {
        var envelope = peer.Envelope(SafeTypes[random.Next(SafeTypes.Length)], new JsonObject { ["job_id"] = "job_" + random.Next(1000) });
        var text = envelope.ToJsonString();
        return random.Next(10) switch
        {
            0 => text.Insert(1, $"\"id\":\"dup{random.Next()}\","),
            1 => text.Insert(1, $"\"trace_id\":\"\\u{random.Next(0xD800, 0xE000):x4}\","),
            2 => new string('[', random.Next(100, 400)) + new string(']', random.Next(0, 400)),
            3 => WrongType(random, envelope),
            4 => WithNull(random, envelope),
            5 => text.Insert(text.Length - 1, $",\"pad\":\"{new string('x', random.Next(70_000, 90_000))}\""),
            6 => text[..random.Next(1, text.Length)],
            7 => RandomText(random),
            8 => authenticated ? text.Replace("\"payload\":{", "\"payload\":{\"auth\":5,", StringComparison.Ordinal) : text.Replace("ping", "session.open", StringComparison.Ordinal),
            _ => text.Replace("\"1.0\"", random.Next(2) == 0 ? "\"2.0\"" : "1.0", StringComparison.Ordinal),
        };
    }

    private static string WrongType(Random random, JsonObject envelope)
    {
        string[] fields = ["id", "type", "timestamp", "payload", "arcp", "session_id", "extensions", "priority"];
        JsonNode?[] values = [5, true, new JsonArray(1, 2), new JsonObject { ["a"] = 1 }, "text", 1.5e308];
        envelope[fields[random.Next(fields.Length)]] = values[random.Next(values.Length)]?.DeepClone();
        return envelope.ToJsonString();
    }

    private static string WithNull(Random random, JsonObject envelope)
    {
        var keys = envelope.Select(p => p.Key).ToList();
        envelope[keys[random.Next(keys.Count)]] = null;
        return envelope.ToJsonString();
    }

    private static string RandomText(Random random)
    {
        var builder = new StringBuilder();
        for (var i = random.Next(1, 200); i > 0; i--)
        {
            // Any character but a newline, which would split the stdio frame into two frames.
            var c = (char)random.Next(0, 0xD800);
            builder.Append(c is '\n' or '\r' ? ' ' : c);
        }

        return builder.ToString();
    }

    public void Dispose() => folder.Dispose();
}

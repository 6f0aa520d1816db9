using System.Globalization;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Arcp.Resumability.Tests.Conformance;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Transports;
using Xunit.Abstractions;

namespace Arcp.Resumability.Tests.Security;

/// <summary>
/// Issue 9, finding 2 at the WebSocket layer: binary messages, messages split into continuation frames (valid, malformed,
/// oversized, binary, invalid UTF-8, abandoned half-way) and raw bytes after the upgrade. The runtime answers or closes
/// that connection cleanly; the host and another client's session live on. ARCP_FUZZ_SEED / ARCP_FUZZ_FRAMES as in
/// <see cref="FrameFuzzTests"/> (here a tenth of the frame count, each sent as several WebSocket frames).
/// </summary>
[Trait("Category", "Security")]
public sealed class WebSocketFrameFuzzTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(15);
    private readonly TestStore folder = new();
    private readonly List<string> answers = [];
    private int nextId;

    private static int RoundCount => Math.Max(50, FuzzedWebSocketHost.FrameCount / 10);

    [Fact]
    public async Task Binary_and_fragmented_websocket_frames_never_kill_the_host_or_another_clients_session()
    {
        var seed = FuzzedWebSocketHost.Seed;
        output.WriteLine($"seed {seed}, {RoundCount} rounds (ARCP_FUZZ_SEED={seed} reproduces)");
        var random = new Random(seed);
        // A short session-open deadline reclaims the connections broken off below; the hostile client reconnects often enough
        // before its own session is open. Until reclaimed they count against the per-address cap, which is not under test here.
        var roomForBrokenConnections = new WebSocketListenerOptions { MaxConnections = 1024, MaxConnectionsPerAddress = 1024 };
        await using var host = await FuzzedWebSocketHost.StartAsync(folder.Path, roomForBrokenConnections, TimeSpan.FromSeconds(5));
        await using var bystander = await host.ConnectPeerAsync();
        Assert.Equal("session.accepted", (await bystander.OpenAsync(null)).Type());

        var hostile = await ConnectAsync(host.Address);
        var open = false;
        for (var round = 0; round < RoundCount; round++)
        {
            if (!open && round % 10 == 9)
            {
                hostile.Dispose();
                hostile = await ConnectAsync(host.Address);
            }

            if (!open && round >= RoundCount / 2)
            {
                await SendAsync(hostile, Encoding.UTF8.GetBytes(Envelope("session.open", new JsonObject { ["auth"] = new JsonObject { ["scheme"] = "none" }, ["capabilities"] = new JsonObject { ["anonymous"] = true } })), WebSocketMessageType.Text, 1);
                Assert.Equal("session.accepted", (await ReceiveAsync(hostile))?["type"]?.GetValue<string>());
                open = true;
            }

            await HostileRoundAsync(random, host.Address, hostile, open);
            if (round % 10 == 9)
            {
                Assert.Equal("pong", (await bystander.RequestAsync(bystander.Envelope("ping"))).Type());
            }
        }

        // The hostile connection itself still works, the bystander was never disturbed, and a newcomer gets in.
        await SendAsync(hostile, Encoding.UTF8.GetBytes(Envelope("ping", new JsonObject())), WebSocketMessageType.Text, 3);
        Assert.Equal("pong", (await ReceiveAsync(hostile))?["type"]?.GetValue<string>());
        Assert.Equal("pong", (await bystander.RequestAsync(bystander.Envelope("ping"))).Type());
        await host.AssertNewcomerAcceptedAsync();
        hostile.Dispose();
        FuzzedWebSocketHost.AssertNothingLeaked(answers.Concat(bystander.Received));

        // Connections that broke off mid-message or sent raw bytes were all closed, as were the hostile one and the
        // newcomer's (closed by AssertNewcomerAcceptedAsync): only the bystander's remains.
        for (var attempt = 0; attempt < 300 && host.OpenConnections > 1; attempt++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(1, host.OpenConnections);
    }

    public void Dispose() => folder.Dispose();

    private static async Task<ClientWebSocket> ConnectAsync(Uri address)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(address, CancellationToken.None);
        return socket;
    }

    /// <summary>Sends <paramref name="bytes"/> as one message split into <paramref name="pieces"/> WebSocket frames.</summary>
    private static async Task SendAsync(WebSocket socket, byte[] bytes, WebSocketMessageType type, int pieces)
    {
        var size = Math.Max(1, (bytes.Length + pieces - 1) / pieces);
        for (var offset = 0; offset < bytes.Length || offset == 0; offset += size)
        {
            var length = Math.Min(size, bytes.Length - offset);
            await socket.SendAsync(bytes.AsMemory(offset, length), type, endOfMessage: offset + length >= bytes.Length, CancellationToken.None);
            if (bytes.Length == 0)
            {
                break;
            }
        }
    }

    private static byte[] Noise(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private string Envelope(string type, JsonObject payload) => new JsonObject
    {
        ["arcp"] = "1.0",
        ["id"] = $"msg_fuzz{Interlocked.Increment(ref nextId):D6}",
        ["type"] = type,
        ["timestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        ["payload"] = payload,
    }.ToJsonString();

    /// <returns>The next answer, or null when the runtime closed the connection.</returns>
    private async Task<JsonObject?> ReceiveAsync(ClientWebSocket socket)
    {
        var buffer = new byte[256 * 1024];
        var length = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None).AsTask().WaitAsync(AnswerTimeout);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                var text = Encoding.UTF8.GetString(buffer, 0, length);
                answers.Add(text);
                return JsonNode.Parse(text)!.AsObject();
            }
        }
    }

    private async Task HostileRoundAsync(Random random, Uri address, ClientWebSocket hostile, bool open)
    {
        switch (random.Next(7))
        {
            case 0:
                // A whole binary message: an envelope's bytes or noise. Refused, the connection lives on.
                var binary = random.Next(2) == 0 ? Encoding.UTF8.GetBytes(Envelope("ping", new JsonObject())) : Noise(random, random.Next(0, 4000));
                await SendAsync(hostile, binary, WebSocketMessageType.Binary, random.Next(1, 6));
                AssertNack(await ReceiveAsync(hostile));
                break;
            case 1:
                // A valid message in many continuation frames is reassembled and answered like a whole one.
                var request = open ? Envelope("ping", new JsonObject()) : Envelope("session.open", new JsonObject { ["auth"] = new JsonObject { ["scheme"] = "bearer", ["token"] = "wrong" } });
                await SendAsync(hostile, Encoding.UTF8.GetBytes(request), WebSocketMessageType.Text, random.Next(2, 40));
                Assert.Equal(open ? "pong" : "session.rejected", (await ReceiveAsync(hostile))?["type"]?.GetValue<string>());
                break;
            case 2:
                // Over the frame limit in small pieces: skipped without being buffered whole, and refused.
                var big = Encoding.UTF8.GetBytes(Envelope("ping", new JsonObject { ["pad"] = new string('x', random.Next(70_000, 120_000)) }));
                await SendAsync(hostile, big, WebSocketMessageType.Text, random.Next(10, 60));
                AssertNack(await ReceiveAsync(hostile));
                break;
            case 3:
                // Malformed JSON, cut at random, in fragments.
                var text = Envelope("ping", new JsonObject());
                await SendAsync(hostile, Encoding.UTF8.GetBytes(text[..random.Next(1, text.Length - 1)]), WebSocketMessageType.Text, random.Next(2, 8));
                AssertNack(await ReceiveAsync(hostile));
                break;
            case 4:
                // Invalid UTF-8 in a text message, split so a sequence straddles two frames: refused or the connection closed.
                using (var victim = await ConnectAsync(address))
                {
                    byte[] invalid = [.. Encoding.UTF8.GetBytes("{\"arcp\":\"1.0\",\"id\":\""), 0xE2, 0x82, 0xC0, 0xFF, .. Noise(random, 8), .. Encoding.UTF8.GetBytes("\"}")];
                    JsonObject? answer;
                    try
                    {
                        await SendAsync(victim, invalid, WebSocketMessageType.Text, random.Next(2, 10));
                        answer = await ReceiveAsync(victim);
                    }
                    catch (WebSocketException)
                    {
                        answer = null; // the WebSocket layer closed the connection (1007) while later fragments were still on their way
                    }

                    if (answer is not null)
                    {
                        AssertNack(answer);
                    }
                }

                break;
            case 5:
                // A message's first fragments, then the client vanishes mid-message.
                var abandoned = await ConnectAsync(address);
                await abandoned.SendAsync(Encoding.UTF8.GetBytes("{\"arcp\":\"1.0\",").AsMemory(), random.Next(2) == 0 ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: false, CancellationToken.None);
                abandoned.Abort();
                abandoned.Dispose();
                break;
            default:
                await RawBytesAfterUpgradeAsync(random, address);
                break;
        }
    }

    /// <summary>A hand-made upgrade, then random bytes as frames: unmasked, reserved opcodes, lone continuations, absurd lengths.</summary>
    private static async Task RawBytesAfterUpgradeAsync(Random random, Uri address)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port);
        var stream = client.GetStream();
        var upgrade = $"GET {address.AbsolutePath} HTTP/1.1\r\nHost: {address.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(upgrade));
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(one).AsTask().WaitAsync(AnswerTimeout) == 1)
        {
            head.Append((char)one[0]);
        }

        Assert.StartsWith("HTTP/1.1 101", head.ToString(), StringComparison.Ordinal);
        byte[] frame = random.Next(3) switch
        {
            0 => [(byte)(0x80 | random.Next(3, 8)), 0x85, 1, 2, 3, 4, .. Noise(random, 5)], // reserved opcode, masked
            1 => [0x00, 0x05, .. Noise(random, 5)], // a continuation with no message to continue, unmasked
            _ => Noise(random, random.Next(1, 300)),
        };
        try
        {
            await stream.WriteAsync(frame);
        }
        catch (IOException)
        {
            // The host already closed the connection: that is a clean outcome too.
        }
    }

    private static void AssertNack(JsonObject? answer)
    {
        Assert.NotNull(answer);
        Assert.Equal("nack", answer["type"]?.GetValue<string>());
        Assert.Equal("INVALID_ARGUMENT", answer["payload"]?["code"]?.GetValue<string>());
    }
}

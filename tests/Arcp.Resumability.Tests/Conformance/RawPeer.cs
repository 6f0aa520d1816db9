using System.Text.Json.Nodes;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>
/// A test peer that speaks ARCP as raw JSON text: it builds frames by hand and reads the runtime's
/// frames as JSON objects, so the runtime is checked against the RFC and not against our own client.
/// </summary>
internal sealed class RawPeer(IArcpConnection connection) : IAsyncDisposable
{
    /// <summary>
    /// How long an answer may take before the runtime counts as hung. Generous: on a loaded two-core machine a
    /// niced test run once waited over 15 s for a stdio child's pong; a real hang never answers at all.
    /// </summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private int counter;

    public IArcpConnection Connection { get; } = connection;

    public string? SessionId { get; private set; }

    /// <summary>Every frame received, verbatim, in order.</summary>
    public List<string> Received { get; } = [];

    public string NextId() => $"msg_test{Interlocked.Increment(ref counter):D4}_{Guid.NewGuid():N}";

    /// <summary>A well-formed envelope with a fresh id; <paramref name="extra"/> fields are merged at the top level.</summary>
    public JsonObject Envelope(string type, JsonObject? payload = null, JsonObject? extra = null)
    {
        var envelope = new JsonObject
        {
            ["arcp"] = "1.0",
            ["id"] = NextId(),
            ["type"] = type,
            ["timestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            ["payload"] = payload ?? new JsonObject(),
        };
        if (SessionId is not null)
        {
            envelope["session_id"] = SessionId;
        }

        foreach (var (key, value) in extra ?? [])
        {
            envelope[key] = value?.DeepClone();
        }

        return envelope;
    }

    public async Task<string> SendAsync(JsonObject envelope)
    {
        var text = envelope.ToJsonString();
        await Connection.SendAsync(text, CancellationToken.None);
        return text;
    }

    public Task SendRawAsync(string frame) => Connection.SendAsync(frame, CancellationToken.None).AsTask();

    public async Task<JsonObject> ReceiveAsync()
    {
        var frame = await Connection.ReceiveAsync(CancellationToken.None).AsTask().WaitAsync(Timeout)
            ?? throw new InvalidOperationException("The runtime closed the connection.");
        Received.Add(frame);
        return JsonNode.Parse(frame)!.AsObject();
    }

    /// <summary>Receives until a frame of <paramref name="type"/> arrives, returning it and everything before it.</summary>
    public async Task<(JsonObject Match, List<JsonObject> Before)> ReceiveUntilAsync(string type)
    {
        var before = new List<JsonObject>();
        while (true)
        {
            var frame = await ReceiveAsync();
            if ((string?)frame["type"] == type)
            {
                return (frame, before);
            }

            before.Add(frame);
        }
    }

    /// <summary>Sends and returns the first frame correlated to it.</summary>
    public async Task<JsonObject> RequestAsync(JsonObject envelope)
    {
        var id = (string)envelope["id"]!;
        await SendAsync(envelope);
        while (true)
        {
            var frame = await ReceiveAsync();
            if ((string?)frame["correlation_id"] == id)
            {
                return frame;
            }
        }
    }

    /// <param name="resumeSessionId">§9: the earlier session to reconnect to, sent as the envelope's <c>session_id</c>.</param>
    public async Task<JsonObject> OpenAsync(string? token, string? resumeSessionId = null)
    {
        var auth = token is null ? new JsonObject { ["scheme"] = "none" } : new JsonObject { ["scheme"] = "bearer", ["token"] = token };
        var capabilities = new JsonObject { ["durable_jobs"] = true };
        if (token is null)
        {
            capabilities["anonymous"] = true;
        }

        var extra = resumeSessionId is null ? null : new JsonObject { ["session_id"] = resumeSessionId };
        var answer = await RequestAsync(Envelope("session.open", new JsonObject { ["auth"] = auth, ["client"] = new JsonObject { ["kind"] = "raw-test", ["version"] = "1" }, ["capabilities"] = capabilities }, extra));
        if ((string?)answer["type"] == "session.accepted")
        {
            SessionId = (string)answer["payload"]!["session_id"]!;
        }

        return answer;
    }

    public async Task<string> StartJobAsync(string workflow, JsonNode? inputs = null, JsonObject? extra = null)
    {
        var accepted = await RequestAsync(Envelope("workflow.start", new JsonObject { ["workflow"] = workflow, ["inputs"] = inputs }, extra));
        Assert.Equal("job.accepted", (string?)accepted["type"]);
        return (string)accepted["job_id"]!;
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}

/// <summary>Shorthands for asserting on received frames.</summary>
internal static class Frames
{
    public static string? Type(this JsonObject frame) => (string?)frame["type"];

    public static JsonObject Payload(this JsonObject frame) => frame["payload"]!.AsObject();

    public static void AssertNack(this JsonObject frame, string code, string? ackFor)
    {
        Assert.True(frame.Type() == "nack", $"Expected a nack but got {frame.ToJsonString()}");
        var payload = frame.Payload();
        Assert.Equal(code, (string?)payload["code"]);
        Assert.False(string.IsNullOrEmpty((string?)payload["message"]), "§18.1: every error has a message.");
        Assert.NotNull(payload["retryable"]);
        Assert.Equal(ackFor, (string?)payload["ack_for"]);
    }
}

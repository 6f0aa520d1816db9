using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.PowerShell.Serialization;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell;

/// <summary>One recorded envelope of a job's event stream, as Get-ArcpEvent writes it.</summary>
public sealed class ArcpEvent
{
    internal ArcpEvent(string jobId, EventSummary summary, string store)
    {
        var envelope = EnvelopeCodec.Parse(summary.Envelope);
        var payload = envelope.Payload.ValueKind == JsonValueKind.Undefined ? null : JsonNode.Parse(envelope.Payload.GetRawText());
        JobId = jobId;
        MessageId = summary.MessageId;
        Type = summary.Type;
        StreamId = envelope.StreamId;
        Timestamp = ArcpJob.Timestamp(envelope.Timestamp);
        Payload = payload is null ? null : PowerShellJson.FromJsonNode(payload);
        Envelope = summary.Envelope;
        Summary = Summarize(summary.Type, payload as JsonObject);
        Store = Arcp.Resumability.Store.StoreFactory.Redact(store);
    }

    public string JobId { get; }

    /// <summary>The envelope's id; pass it to Get-ArcpEvent -After to read on from here.</summary>
    public string MessageId { get; }

    /// <summary>The same as <see cref="MessageId"/>, under the name PowerShell users try first.</summary>
    public string Id => MessageId;

    /// <summary>The ARCP message type: job.progress, job.checkpoint, log, stream.chunk (a thought), job.completed, …</summary>
    public string Type { get; }

    /// <summary>The stream a stream.* event belongs to (the job's thought stream).</summary>
    public string? StreamId { get; }

    public DateTimeOffset Timestamp { get; }

    /// <summary>The payload as PowerShell objects.</summary>
    public object? Payload { get; }

    /// <summary>The exact recorded envelope text (JSON).</summary>
    public string Envelope { get; }

    /// <summary>A one-line description for tables.</summary>
    public string Summary { get; }

    public string Store { get; }

    public override string ToString() => $"{Type}: {Summary}";

    private static string Summarize(string type, JsonObject? payload)
    {
        string? Text(string name) => payload?[name] is JsonValue value && value.TryGetValue(out string? text) ? text : payload?[name]?.ToJsonString();
        return type switch
        {
            MessageTypes.Cancel => $"cancel requested ({Text("reason")})",
            MessageTypes.JobProgress => string.Create(CultureInfo.InvariantCulture, $"{Text("percent")}% {Text("message")}"),
            MessageTypes.JobCheckpoint => $"{Text("label")} ({Text("checkpoint_id")})",
            MessageTypes.Log => $"[{Text("level")}] {Text("message")}",
            MessageTypes.StreamOpen => $"{Text("kind")} stream opened",
            MessageTypes.StreamChunk => Text("content") ?? string.Empty,
            MessageTypes.StreamClose => $"stream closed ({Text("reason")})",
            MessageTypes.JobFailed or MessageTypes.JobCancelled => $"{Text("code")}: {Text("message")}",
            MessageTypes.JobCompleted => Truncate(Text("result")),
            MessageTypes.JobStarted or MessageTypes.JobAccepted => $"{Text("workflow")} {Text("name")}".Trim(),
            _ => Truncate(payload?.ToJsonString()),
        };
    }

    private static string Truncate(string? text)
    {
        var line = (text ?? string.Empty).ReplaceLineEndings(" ");
        return line.Length <= 120 ? line : string.Concat(line.AsSpan(0, 119), "…");
    }
}

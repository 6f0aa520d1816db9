using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// The <c>checkpoint_list</c> frame written from stored rows: each output goes into the frame as the JSON text it was
/// stored as, checked but not parsed into a node and serialized again, and the payload goes into the frame as it is
/// written, not into an element the envelope's serializer then writes again (a page of 200 outputs was most of a
/// listing's cost in the runtime). The payload's shape is <see cref="CheckpointListPayload"/>'s, as the serializer writes it.
/// </summary>
internal static class CheckpointListAnswer
{
    /// <summary>
    /// Where an output sits in a <c>checkpoint_list</c> frame: in an item (4) of the array (3) of the payload (2) of the
    /// envelope (1). The output may nest only what is left of the frame's depth limit, or the client refuses the frame.
    /// </summary>
    private const int OutputDepth = 4;

    /// <summary>The frame of <paramref name="header"/> (its own payload not read) carrying these checkpoints.</summary>
    /// <exception cref="ArcpException">DATA_LOSS when a stored output is not one well-formed JSON value a frame may carry.</exception>
    public static string Frame(Envelope header, IReadOnlyList<CheckpointRecord> checkpoints, string? next)
    {
        // A full page is a few hundred kilobytes: pooled, not a fresh large object grown and copied several times.
        using var buffer = new PooledBufferWriter(Capacity(checkpoints));
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = ArcpJson.Options.Encoder, MaxDepth = ArcpJson.MaxDepth }))
        {
            EnvelopeCodec.WriteHeader(writer, header);
            writer.WritePropertyName("payload");
            writer.WriteStartObject();
            writer.WriteStartArray("checkpoints");
            foreach (var checkpoint in checkpoints)
            {
                Write(writer, checkpoint);
            }

            writer.WriteEndArray();
            if (next is not null)
            {
                writer.WriteString("next", next);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenMemory.Span);
    }

    private static void Write(Utf8JsonWriter writer, CheckpointRecord checkpoint)
    {
        writer.WriteStartObject();
        writer.WriteString("checkpoint_id", checkpoint.CheckpointId);
        writer.WriteString("job_id", checkpoint.JobId);
        writer.WriteString("step", checkpoint.Step);
        writer.WriteNumber("step_index", checkpoint.StepIndex);
        writer.WriteString("message_id", checkpoint.MessageId);
        writer.WriteString("idempotency_key", checkpoint.IdempotencyKey);
        writer.WriteString("created_at", ArcpJson.FormatTimestamp(checkpoint.CreatedAt));
        WriteOutput(writer, checkpoint);

        if (checkpoint.DefinitionVersion is { } version)
        {
            writer.WriteString("definition_version", version);
        }

        if (checkpoint.StartedAt is { } started)
        {
            writer.WriteString("started_at", ArcpJson.FormatTimestamp(started));
        }

        if (checkpoint.Attempts is { } attempts)
        {
            writer.WriteNumber("attempts", attempts);
        }

        if (checkpoint.DurationMs is { } duration)
        {
            writer.WriteNumber("duration_ms", duration);
        }

        writer.WriteEndObject();
    }

    /// <summary>
    /// The stored output's UTF-8 text once it passed the checks every frame gets (one JSON value, no repeated key, no
    /// lone surrogate, not too deep), so that a damaged row gets its own error and never makes the whole frame one the
    /// client has to drop; left out for a JSON null, as the serializer does.
    /// </summary>
    private static void WriteOutput(Utf8JsonWriter writer, CheckpointRecord checkpoint)
    {
        using var utf8 = new PooledUtf8(checkpoint.Output);
        if (FrameValidator.FindProblem(checkpoint.Output, utf8.Memory, ArcpJson.MaxDepth - OutputDepth, "The stored output") is { } problem)
        {
            throw ArcpException.Of(
                ErrorCodes.DataLoss,
                $"The output of checkpoint '{checkpoint.CheckpointId}' (step '{FrameValidator.Printable(checkpoint.Step)}') of job '{checkpoint.JobId}' cannot be read back: {problem}",
                new JsonObject { ["checkpoint_id"] = checkpoint.CheckpointId, ["job_id"] = checkpoint.JobId });
        }

        var reader = new Utf8JsonReader(utf8.Span);
        reader.Read();
        if (reader.TokenType != JsonTokenType.Null)
        {
            writer.WritePropertyName("output");
            writer.WriteRawValue(utf8.Span, skipInputValidation: true);
        }
    }

    /// <summary>About the frame's size, so the buffer is not grown and copied several times for a full page.</summary>
    private static int Capacity(IReadOnlyList<CheckpointRecord> checkpoints)
    {
        long bytes = 1024;
        foreach (var checkpoint in checkpoints)
        {
            bytes += checkpoint.Output.Length + 400;
        }

        return (int)Math.Min(bytes, 64 * 1024 * 1024);
    }
}

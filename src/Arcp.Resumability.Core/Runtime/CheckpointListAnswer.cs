using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// The <c>checkpoint_list</c> payload written from stored rows: each output goes into the payload as the JSON text it
/// was stored as, checked but not parsed into a node and serialized again (a page of 200 outputs was most of a
/// listing's cost in the runtime). The shape is <see cref="CheckpointListPayload"/>'s, as the serializer writes it.
/// </summary>
internal sealed class CheckpointListAnswer : IDisposable
{
    /// <summary>
    /// Where an output sits in a <c>checkpoint_list</c> frame: in an item (4) of the array (3) of the payload (2) of the
    /// envelope (1). The output may nest only what is left of the frame's depth limit, or the client refuses the frame.
    /// </summary>
    private const int OutputDepth = 4;

    private readonly PooledBufferWriter buffer;
    private readonly JsonDocument document;

    private CheckpointListAnswer(PooledBufferWriter buffer, JsonDocument document)
    {
        this.buffer = buffer;
        this.document = document;
    }

    /// <summary>The payload; read it (serialize the reply) before this answer is disposed, which returns its buffers.</summary>
    public JsonElement Payload => document.RootElement;

    /// <exception cref="ArcpException">DATA_LOSS when a stored output is not one well-formed JSON value a frame may carry.</exception>
    public static CheckpointListAnswer Write(IReadOnlyList<CheckpointRecord> checkpoints, string? next)
    {
        var buffer = new PooledBufferWriter(Capacity(checkpoints));
        try
        {
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { MaxDepth = ArcpJson.MaxDepth }))
            {
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
            }

            // Parsed in place over the pooled bytes, not copied into a document of its own.
            return new CheckpointListAnswer(buffer, JsonDocument.Parse(buffer.WrittenMemory, new JsonDocumentOptions { MaxDepth = ArcpJson.MaxDepth }));
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        document.Dispose();
        buffer.Dispose();
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
        if (CheckedOutput(checkpoint) is { } output)
        {
            writer.WritePropertyName("output");
            writer.WriteRawValue(output, skipInputValidation: true);
        }

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
    /// client has to drop; null for a JSON null, which the payload leaves out as the serializer does.
    /// </summary>
    private static byte[]? CheckedOutput(CheckpointRecord checkpoint)
    {
        if (FrameValidator.FindProblem(checkpoint.Output, ArcpJson.MaxDepth - OutputDepth, "The stored output", out var utf8) is { } problem)
        {
            throw ArcpException.Of(
                ErrorCodes.DataLoss,
                $"The output of checkpoint '{checkpoint.CheckpointId}' (step '{FrameValidator.Printable(checkpoint.Step)}') of job '{checkpoint.JobId}' cannot be read back: {problem}",
                new JsonObject { ["checkpoint_id"] = checkpoint.CheckpointId, ["job_id"] = checkpoint.JobId });
        }

        var reader = new Utf8JsonReader(utf8);
        reader.Read();
        return reader.TokenType == JsonTokenType.Null ? null : utf8;
    }

    /// <summary>About the payload's size, so the buffer is not grown and copied several times for a full page.</summary>
    private static int Capacity(IReadOnlyList<CheckpointRecord> checkpoints)
    {
        long bytes = 64;
        foreach (var checkpoint in checkpoints)
        {
            bytes += checkpoint.Output.Length + 400;
        }

        return (int)Math.Min(bytes, 64 * 1024 * 1024);
    }
}

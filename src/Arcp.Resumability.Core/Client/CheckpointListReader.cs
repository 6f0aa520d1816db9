using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Client;

/// <summary>
/// Reads a <c>checkpoint_list</c> payload field by field from the answer's own document, where the serializer would
/// read it a second time and copy each output into a document of its own (a page is 200 outputs, a few hundred
/// kilobytes). Each output is a node over the payload's elements, which is what the serializer makes of it too.
/// The rules are the serializer's for <see cref="CheckpointListPayload"/>: snake_case names matched exactly, unknown
/// fields ignored, a field of the wrong kind a <see cref="JsonException"/>.
/// </summary>
internal static class CheckpointListReader
{
    /// <exception cref="JsonException">The payload is not a checkpoint list.</exception>
    public static CheckpointListPayload Read(JsonElement payload)
    {
        RequireKind(payload, JsonValueKind.Object, "$");
        List<CheckpointSummary>? checkpoints = null;
        string? next = null;
        foreach (var field in payload.EnumerateObject())
        {
            if (field.NameEquals("checkpoints"u8))
            {
                checkpoints = ReadCheckpoints(field.Value);
            }
            else if (field.NameEquals("next"u8))
            {
                next = ReadText(field.Value, "$.next");
            }
        }

        return new CheckpointListPayload(checkpoints ?? throw new JsonException("The checkpoint list lacks 'checkpoints'.")) { Next = next };
    }

    private static List<CheckpointSummary>? ReadCheckpoints(JsonElement items)
    {
        if (items.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireKind(items, JsonValueKind.Array, "$.checkpoints");
        var checkpoints = new List<CheckpointSummary>(items.GetArrayLength());
        foreach (var item in items.EnumerateArray())
        {
            checkpoints.Add(ReadCheckpoint(item));
        }

        return checkpoints;
    }

    private static CheckpointSummary ReadCheckpoint(JsonElement item)
    {
        const string At = "$.checkpoints[]";
        RequireKind(item, JsonValueKind.Object, At);
        string? checkpointId = null, jobId = null, step = null, messageId = null, idempotencyKey = null, createdAt = null;
        string? definitionVersion = null, startedAt = null;
        int stepIndex = 0;
        int? attempts = null;
        long? durationMs = null;
        JsonNode? output = null;
        // Names compared as UTF-8 in the document: no string per field of 200 items.
        foreach (var field in item.EnumerateObject())
        {
            var value = field.Value;
            if (field.NameEquals("checkpoint_id"u8))
            {
                checkpointId = ReadText(value, At);
            }
            else if (field.NameEquals("job_id"u8))
            {
                jobId = ReadText(value, At);
            }
            else if (field.NameEquals("step"u8))
            {
                step = ReadText(value, At);
            }
            else if (field.NameEquals("step_index"u8))
            {
                stepIndex = ReadInt32(value, At) ?? throw WrongKind(At, "a 32-bit integer");
            }
            else if (field.NameEquals("message_id"u8))
            {
                messageId = ReadText(value, At);
            }
            else if (field.NameEquals("idempotency_key"u8))
            {
                idempotencyKey = ReadText(value, At);
            }
            else if (field.NameEquals("created_at"u8))
            {
                createdAt = ReadText(value, At);
            }
            else if (field.NameEquals("output"u8))
            {
                output = Node(value);
            }
            else if (field.NameEquals("definition_version"u8))
            {
                definitionVersion = ReadText(value, At);
            }
            else if (field.NameEquals("started_at"u8))
            {
                startedAt = ReadText(value, At);
            }
            else if (field.NameEquals("attempts"u8))
            {
                attempts = ReadInt32(value, At);
            }
            else if (field.NameEquals("duration_ms"u8))
            {
                durationMs = ReadInt64(value, At);
            }
        }

        // Missing names are null, as the serializer leaves a missing constructor argument.
        return new CheckpointSummary(checkpointId!, jobId!, step!, stepIndex, messageId!, idempotencyKey!, createdAt!)
        {
            Output = output,
            DefinitionVersion = definitionVersion,
            StartedAt = startedAt,
            Attempts = attempts,
            DurationMs = durationMs,
        };
    }

    /// <summary>The node the serializer makes of a value: over the element, not a copy of it.</summary>
    private static JsonNode? Node(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.Object => JsonObject.Create(value),
        JsonValueKind.Array => JsonArray.Create(value),
        _ => JsonValue.Create(value),
    };

    private static string? ReadText(JsonElement value, string at) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Null => null,
        _ => throw WrongKind(at, "a string"),
    };

    private static int? ReadInt32(JsonElement value, string at) => value.ValueKind switch
    {
        JsonValueKind.Number when value.TryGetInt32(out var number) => number,
        JsonValueKind.Null => null,
        _ => throw WrongKind(at, "a 32-bit integer"),
    };

    private static long? ReadInt64(JsonElement value, string at) => value.ValueKind switch
    {
        JsonValueKind.Number when value.TryGetInt64(out var number) => number,
        JsonValueKind.Null => null,
        _ => throw WrongKind(at, "a 64-bit integer"),
    };

    private static void RequireKind(JsonElement value, JsonValueKind kind, string at)
    {
        if (value.ValueKind != kind)
        {
            throw WrongKind(at, $"a JSON {kind.ToString().ToLowerInvariant()}");
        }
    }

    private static JsonException WrongKind(string at, string expected) => new($"The checkpoint list holds a value at {at} that is not {expected}.");
}

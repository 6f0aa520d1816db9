using System.Text.Json;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// Reads an inbound <c>job.checkpoint</c>. RFC 0001 defines no checkpoint payload beyond its id, so any well-formed
/// one is stored: our step runner's snapshot (<c>step</c>, <c>step_index</c>, <c>step_count</c>, <c>output</c>) keeps
/// its step position and can be resumed step-wise; any other shape is stored as a foreign checkpoint with
/// <see cref="ForeignStepIndex"/> (docs/protocol.md, "Talking to other ARCP implementations").
/// </summary>
internal static class CheckpointReader
{
    /// <summary>The step index of a checkpoint our step runner did not write: it names no step of a workflow.</summary>
    public const int ForeignStepIndex = -1;

    /// <remarks>Read from the payload's parsed element in place: a checkpoint is the one frame of every step with a body.</remarks>
    public static CheckpointDraft Read(Envelope envelope)
    {
        var payload = envelope.Payload;
        if (payload.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("A job.checkpoint payload must be a JSON object.");
        }

        var checkpointId = Text(payload, "checkpoint_id");
        if (!ArcpId.IsWellFormedPeerId(checkpointId))
        {
            throw ArcpException.Of(
                ErrorCodes.InvalidArgument,
                $"job.checkpoint needs a 'checkpoint_id' of 1 to {ArcpId.MaxPeerIdLength} ASCII letters, digits, '_', '-', '.' or ':', starting with a letter or digit.");
        }

        var label = Text(payload, "label");
        var key = envelope.IdempotencyKey ?? checkpointId!;
        JsonElement? snapshot = payload.TryGetProperty("snapshot", out var given) && given.ValueKind != JsonValueKind.Null ? given : null;
        if (!string.IsNullOrWhiteSpace(label) && OurSnapshot(snapshot) is { } ours)
        {
            return new CheckpointDraft(checkpointId!, ours.StepIndex, label, key, ArcpJson.ToText(ours.Output), ours.DefinitionVersion)
            {
                StartedAt = StepStartedAt(ours),
                Attempts = ours.Attempts is null or > 0 ? ours.Attempts : throw ArcpException.Of(ErrorCodes.InvalidArgument, "snapshot.attempts must be at least 1."),
                DurationMs = ours.DurationMs is null or >= 0 ? ours.DurationMs : throw ArcpException.Of(ErrorCodes.InvalidArgument, "snapshot.duration_ms must not be negative."),
            };
        }

        // The store keeps `snapshot.output` apart from the frame when there is one (CheckpointOutputs); otherwise the
        // checkpoint's output is the snapshot itself, so a query shows what the peer checkpointed.
        var output = snapshot is { ValueKind: JsonValueKind.Object } shaped && shaped.TryGetProperty("output", out var inner) ? inner : snapshot;
        return new CheckpointDraft(checkpointId!, ForeignStepIndex, string.IsNullOrWhiteSpace(label) ? checkpointId! : label, key, TextOf(output), null);
    }

    /// <summary>Canonical text of a JSON value, as <see cref="ArcpJson.ToText"/> writes it ("null" for a missing or null one).</summary>
    private static string TextOf(JsonElement? value) =>
        value is { ValueKind: not JsonValueKind.Null } present ? JsonSerializer.Serialize(present, ArcpJson.Options) : "null";

    private static string? Text(JsonElement payload, string name) =>
        !payload.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw ArcpException.Of(ErrorCodes.InvalidArgument, $"job.checkpoint '{name}' must be a string.");

    private static DateTimeOffset? StepStartedAt(CheckpointSnapshot snapshot) =>
        snapshot.StartedAt is not { } text ? null
        : ArcpJson.TryParseTimestamp(text, out var started) ? started
        : throw ArcpException.Of(ErrorCodes.InvalidArgument, "snapshot.started_at must be an RFC 3339 timestamp.");

    /// <summary>The snapshot our step runner writes, or null when it has another shape.</summary>
    private static CheckpointSnapshot? OurSnapshot(JsonElement? snapshot)
    {
        if (snapshot is not { ValueKind: JsonValueKind.Object } shaped || !IsScalar(shaped, "step") || !IsScalar(shaped, "step_index") || !IsScalar(shaped, "step_count"))
        {
            return null;
        }

        try
        {
            return shaped.Deserialize<CheckpointSnapshot>(ArcpJson.Options) is { StepIndex: >= 0, StepCount: > 0, Step.Length: > 0 } ours ? ours : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsScalar(JsonElement shaped, string name) =>
        shaped.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Object or JsonValueKind.Array);
}

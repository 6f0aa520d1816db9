using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Steps;

/// <summary>
/// What a resumed run needs to know about steps recorded after its anchor checkpoint: their outcomes (by idempotency
/// key) and the failed attempts logged for them. A resume that replayed everything after the anchor already holds
/// all of it, so it is read from that replay once and no request is made per re-issued step; when the replay is not
/// known to be complete (retention purged part of it, or it started after a message the caller chose) every
/// question goes to the runtime, as <c>step_lookup</c> and an event query.
/// </summary>
internal sealed class RecordedSteps
{
    private readonly ArcpClient client;
    private readonly string jobId;
    private readonly Dictionary<string, CheckpointSummary>? outcomes;
    private readonly Dictionary<string, (int Attempt, DateTimeOffset? RetryAt)>? attempts;

    private RecordedSteps(ArcpClient client, string jobId, Dictionary<string, CheckpointSummary>? outcomes, Dictionary<string, (int, DateTimeOffset?)>? attempts)
    {
        this.client = client;
        this.jobId = jobId;
        this.outcomes = outcomes;
        this.attempts = attempts;
    }

    /// <summary>True when the answers come from the replay, not from one request each.</summary>
    public bool FromReplay => outcomes is not null;

    /// <summary>Every question is asked of the runtime.</summary>
    public static RecordedSteps Lookup(ArcpClient client, string jobId) => new(client, jobId, null, null);

    /// <summary>
    /// The steps recorded in <paramref name="replay"/>, a replay of everything after the anchor checkpoint (or more):
    /// the <c>job.checkpoint</c> frames give the outcomes, the <c>step.attempt_failed</c> log frames the attempts.
    /// </summary>
    public static RecordedSteps FromReplayAfterAnchor(ArcpClient client, string jobId, IReadOnlyList<string> replay)
    {
        var outcomes = new Dictionary<string, CheckpointSummary>(StringComparer.Ordinal);
        var attempts = new Dictionary<string, (int, DateTimeOffset?)>(StringComparer.Ordinal);
        foreach (var frame in replay)
        {
            var envelope = EnvelopeCodec.Parse(frame);
            if (envelope.JobId != jobId)
            {
                continue;
            }

            if (envelope.Type == MessageTypes.JobCheckpoint && envelope.IdempotencyKey is { } key && !outcomes.ContainsKey(key))
            {
                // The first checkpoint recorded under a key is its outcome, as the store keeps it.
                outcomes[key] = Summarize(envelope, key);
            }
            else if (envelope.Type == MessageTypes.Log && AttemptOf(envelope) is var (attemptKey, number, retryAt)
                && (!attempts.TryGetValue(attemptKey, out var known) || number > known.Item1))
            {
                attempts[attemptKey] = (number, retryAt);
            }
        }

        return new(client, jobId, outcomes, attempts);
    }

    /// <summary>The recorded outcome of the step with <paramref name="idempotencyKey"/>, if any.</summary>
    public async ValueTask<CheckpointSummary?> FindAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        if (outcomes is not null)
        {
            return outcomes.GetValueOrDefault(idempotencyKey);
        }

        var answer = await client.LookupStepAsync(jobId, idempotencyKey, cancellationToken).ConfigureAwait(false);
        return answer is { Recorded: true, Checkpoint: { } recorded } ? recorded : null;
    }

    /// <summary>The highest attempt of the step with <paramref name="idempotencyKey"/> recorded as failed, and when its retry was due.</summary>
    public async ValueTask<(int Attempt, DateTimeOffset? RetryAt)> AttemptsAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        if (attempts is not null)
        {
            return attempts.GetValueOrDefault(idempotencyKey);
        }

        var last = (Attempt: 0, RetryAt: (DateTimeOffset?)null);
        foreach (var recorded in await client.QueryEventsAsync(jobId, null, cancellationToken).ConfigureAwait(false))
        {
            if (recorded.Type == MessageTypes.Log
                && AttemptOf(EnvelopeCodec.Parse(recorded.Envelope)) is var (key, number, retryAt)
                && key == idempotencyKey
                && number > last.Attempt)
            {
                last = (number, retryAt);
            }
        }

        return last;
    }

    private static CheckpointSummary Summarize(Envelope envelope, string key)
    {
        var payload = envelope.PayloadAs<JobCheckpointPayload>();
        var snapshot = payload.Snapshot;
        // The envelope's own time stands in for the row's; nothing decides on either.
        return new CheckpointSummary(payload.CheckpointId, envelope.JobId!, snapshot.Step, snapshot.StepIndex, envelope.Id, key, envelope.Timestamp)
        {
            Output = snapshot.Output,
            DefinitionVersion = snapshot.DefinitionVersion,
            StartedAt = snapshot.StartedAt,
            Attempts = snapshot.Attempts,
            DurationMs = snapshot.DurationMs,
        };
    }

    private static (string Key, int Attempt, DateTimeOffset? RetryAt)? AttemptOf(Envelope envelope)
    {
        // Log attributes are whatever a step chose to log: anything of another shape is not an attempt record.
        if (envelope.Type != MessageTypes.Log
            || envelope.Payload.ValueKind != JsonValueKind.Object
            || JsonNode.Parse(envelope.Payload.GetRawText())?["attributes"] is not JsonObject attributes
            || Value<string>(attributes, "event") != StepAttempts.AttemptFailedEvent
            || Value<string>(attributes, "idempotency_key") is not { } key
            || !(attributes["attempt"] is JsonValue attempt && attempt.TryGetValue<int>(out var number)))
        {
            return null;
        }

        var retryAt = DateTimeOffset.TryParse(Value<string>(attributes, "retry_at"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var due) ? due : (DateTimeOffset?)null;
        return (key, number, retryAt);
    }

    private static T? Value<T>(JsonObject attributes, string name)
        where T : class =>
        attributes[name] is JsonValue value && value.TryGetValue<T>(out var typed) ? typed : null;
}

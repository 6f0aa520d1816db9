using System.Text.Json.Nodes;

namespace Arcp.Resumability.Protocol;

// Wire payloads. Property names map to snake_case through ArcpJson.Options.

/// <summary>§8.2 credential block.</summary>
public sealed record AuthBlock(string Scheme, string? Token = null);

/// <summary>§8.2 attested client identity.</summary>
public sealed record ClientIdentity(string Kind, string Version, string? Fingerprint = null, string? Principal = null);

/// <summary>§8.3 runtime identity.</summary>
public sealed record RuntimeIdentity(string Kind, string Version, string? Fingerprint = null, string? TrustLevel = null);

public sealed record SessionOpenPayload(AuthBlock Auth, ClientIdentity? Client = null, JsonObject? Capabilities = null);

public sealed record SessionAcceptedPayload(string SessionId, RuntimeIdentity Runtime, JsonObject Capabilities)
{
    /// <summary>True when the client reconnected to its earlier session (§9); absent for a new one.</summary>
    public bool? Resumed { get; init; }
}

/// <summary>§6.3: acknowledges (or, as <c>nack</c>, refuses) the message named by <c>ack_for</c>.</summary>
public sealed record AckPayload(string AckFor)
{
    /// <summary>Set when an owner-emitted event repeated an idempotency key: the prior outcome, nothing re-recorded.</summary>
    public bool? Duplicate { get; init; }

    public string? MessageId { get; init; }

    public string? CheckpointId { get; init; }

    /// <summary>On the ack of a <c>job.checkpoint</c>: the checkpoint as recorded (its stored creation time included), without the output the owner already has.</summary>
    public CheckpointSummary? Checkpoint { get; init; }
}

public sealed record NackPayload(string? AckFor, string Code, string Message)
{
    public bool? Retryable { get; init; }

    public JsonObject? Details { get; init; }

    public ArcpError ToError() => new(Code, Message) { Retryable = Retryable ?? ErrorCodes.IsRetryableByDefault(Code), Details = Details };

    public static NackPayload From(string? ackFor, ArcpError error) =>
        new(ackFor, error.Code, error.Message) { Retryable = error.IsRetryable, Details = error.Details };
}

public sealed record WorkflowStartPayload(string Workflow, JsonNode? Inputs = null)
{
    /// <summary>Operator-facing job name (not in the RFC's open workflow schema, which §26 leaves to future work).</summary>
    public string? Name { get; init; }

    /// <summary>Starts a retry of this failed or cancelled job of the same principal and workflow (§10.2 keeps it terminal).</summary>
    public string? RetryOf { get; init; }

    /// <summary>A client-chosen job id in the payload (accepted like the envelope's <c>job_id</c>; docs/protocol.md).</summary>
    public string? JobId { get; init; }
}

/// <summary>§24 <c>tool.invoke</c>: this runtime's tools are the workflows it runs itself; the arguments are the job's inputs.</summary>
public sealed record ToolInvokePayload(string Tool, JsonNode? Arguments = null);

public sealed record JobAcceptedPayload(string State, string Workflow)
{
    public string? Name { get; init; }

    /// <summary>True when a repeated logical <c>workflow.start</c> returned the job created earlier (§6.4).</summary>
    public bool? Existing { get; init; }
}

public sealed record JobStartedPayload(string Workflow)
{
    public string? Name { get; init; }
}

/// <summary>§10.1 progress; the step fields say which step of the job it reports on.</summary>
public sealed record JobProgressPayload(double Percent, string Message)
{
    public string? Step { get; init; }

    public int? StepIndex { get; init; }

    public int? StepCount { get; init; }

    /// <summary>How far the step itself is, when the step reports progress of its own.</summary>
    public double? StepPercent { get; init; }
}

public sealed record JobHeartbeatPayload(long Sequence, long DeadlineMs, string State);

/// <summary>A <c>job.checkpoint</c>: <c>label</c> is the step name and the snapshot holds the step's output.</summary>
public sealed record JobCheckpointPayload(string CheckpointId, string Label, CheckpointSnapshot Snapshot);

public sealed record CheckpointSnapshot(string Step, int StepIndex, int StepCount, JsonNode? Output)
{
    /// <summary>The version of the workflow definition that produced this output (declared, or a content hash).</summary>
    public string? DefinitionVersion { get; init; }

    /// <summary>When the step started in the run that recorded it (RFC 3339).</summary>
    public string? StartedAt { get; init; }

    /// <summary>How many attempts the step took, failed attempts recorded before a crash included.</summary>
    public int? Attempts { get; init; }

    /// <summary>How long the step ran, from <see cref="StartedAt"/> to its output, in milliseconds.</summary>
    public long? DurationMs { get; init; }
}

public sealed record JobCompletedPayload(JsonNode? Result);

public sealed record ResumePayload
{
    public string? AfterMessageId { get; init; }

    public string? CheckpointId { get; init; }

    public bool? IncludeOpenStreams { get; init; }
}

/// <summary>§13.3-style synthetic event; we use it for the end-of-replay marker too.</summary>
public sealed record EventEmitPayload(string Type, JsonObject? Data = null)
{
    /// <summary>
    /// Set on the end markers we send (equal to <see cref="Type"/>): §13.3 names the marker only by "type", and
    /// some peers read it from <c>payload.name</c>.
    /// </summary>
    public string? Name { get; init; }

    /// <summary>An end marker, named in both <c>type</c> and <c>name</c>.</summary>
    public static EventEmitPayload Marker(string type, JsonObject data) => new(type, data) { Name = type };

    /// <summary>Whether this is <paramref name="type"/>, read from <c>type</c> or, from peers that only send that, <c>name</c>.</summary>
    public bool Is(string type) => Type == type || Name == type;
}

/// <summary>Data of the <c>resume.replay_complete</c> marker that ends a resume replay.</summary>
/// <summary>Data of the <c>resume.replay_complete</c> marker that ends a session-scoped (§9) resume replay.</summary>
public sealed record SessionReplayComplete(string SessionId, int Replayed, string? LastMessageId);

public sealed record ReplayComplete(JobSummary Job, int Replayed, string? LastMessageId, CheckpointSummary? Checkpoint, JsonNode? Inputs);

public sealed record StepLookupPayload(string IdempotencyKey);

public sealed record StepOutcomePayload(bool Recorded, CheckpointSummary? Checkpoint = null);

public sealed record JobQueryPayload
{
    public string? JobId { get; init; }

    public IReadOnlyList<string>? States { get; init; }
}

public sealed record JobListPayload(IReadOnlyList<JobSummary> Jobs);

public sealed record CheckpointQueryPayload
{
    /// <summary>The most checkpoints this runtime puts in one page; a larger <see cref="Limit"/> is capped to it.</summary>
    public const int MaxLimit = 200;

    public string? CheckpointId { get; init; }

    /// <summary>Only the last this many checkpoints, in recording order.</summary>
    public int? Last { get; init; }

    /// <summary>A page of the job's checkpoints: those recorded after this one (from the first when null and <see cref="Limit"/> is set).</summary>
    public string? AfterCheckpointId { get; init; }

    /// <summary>
    /// Answer in pages of at most this many checkpoints (the runtime caps it, and a page also stops at a byte budget of
    /// outputs); the answer's <c>next</c> names the checkpoint to continue after.
    /// </summary>
    public int? Limit { get; init; }
}

/// <summary>Checkpoints in recording order; when <c>Next</c> is set (a paged query), ask again with <c>after_checkpoint_id = next</c>.</summary>
public sealed record CheckpointListPayload(IReadOnlyList<CheckpointSummary> Checkpoints)
{
    public string? Next { get; init; }
}

/// <summary>
/// A job as the runtime reports it. <c>State</c> is the §10.2 state; <c>Interrupted</c> is true when
/// a non-terminal job has no live owner (its process died or its lease lapsed), so anyone may resume it.
/// </summary>
public sealed record JobSummary(string JobId, string Workflow, string State, bool Interrupted, string CreatedAt, string UpdatedAt)
{
    public string? Name { get; init; }

    public string? LastCheckpointId { get; init; }

    /// <summary>The step (checkpoint label) of <see cref="LastCheckpointId"/>.</summary>
    public string? LastCheckpointStep { get; init; }

    public string? LastMessageId { get; init; }

    public JsonNode? Result { get; init; }

    public ArcpError? Error { get; init; }

    public string? IdempotencyKey { get; init; }

    public JobOwner? Owner { get; init; }

    /// <summary>For a retry: the failed or cancelled job it continues.</summary>
    public string? RetryOf { get; init; }
}

/// <summary>Who drives a job: the session and the process behind it, and until when the lease holds.</summary>
public sealed record JobOwner(string SessionId, string Host, int ProcessId, string LeaseExpiresAt);

public sealed record CheckpointSummary(string CheckpointId, string JobId, string Step, int StepIndex, string MessageId, string IdempotencyKey, string CreatedAt)
{
    public JsonNode? Output { get; init; }

    public string? DefinitionVersion { get; init; }

    /// <summary>When the step started in the run that recorded it; null for checkpoints recorded before schema 6 and carried ones.</summary>
    public string? StartedAt { get; init; }

    public int? Attempts { get; init; }

    public long? DurationMs { get; init; }
}

/// <summary>§17.2 structured log line; <c>level</c> is one of <see cref="LogLevels"/>.</summary>
public sealed record LogPayload(string Level, string Message)
{
    public JsonObject? Attributes { get; init; }
}

/// <summary>§17.2 log levels.</summary>
public static class LogLevels
{
    public const string Trace = "trace";
    public const string Debug = "debug";
    public const string Info = "info";
    public const string Warn = "warn";
    public const string Error = "error";
    public const string Critical = "critical";

    public static bool IsValid(string? level) => level is Trace or Debug or Info or Warn or Error or Critical;
}

/// <summary>§11.1 <c>stream.open</c>; the stream id travels in the envelope's <c>stream_id</c>.</summary>
public sealed record StreamOpenPayload(string Kind)
{
    public string? ContentType { get; init; }

    public string? Encoding { get; init; }
}

/// <summary>§11.4 chunk of a <c>kind: thought</c> stream.</summary>
public sealed record ThoughtChunkPayload(string Role, string Content, bool Redacted);

public sealed record StreamClosePayload
{
    public string? Reason { get; init; }
}

public sealed record EventQueryPayload
{
    /// <summary>Only events recorded after this message of the job's stream.</summary>
    public string? AfterMessageId { get; init; }

    /// <summary>At most this many events in the page (the runtime caps it, and a page also stops at a byte budget).</summary>
    public int? Limit { get; init; }
}

/// <summary>One page of a job's stream; when <c>Next</c> is set, ask again with <c>after_message_id = next</c>.</summary>
public sealed record EventListPayload(IReadOnlyList<EventSummary> Events)
{
    public string? Next { get; init; }
}

/// <summary>One envelope of a job's stream; <c>Envelope</c> is the exact text that was recorded.</summary>
public sealed record EventSummary(long Sequence, string MessageId, string Type, string CreatedAt, string Envelope);

/// <summary>§10.4 <c>cancel</c>; this runtime cancels jobs (<c>target: job</c>).</summary>
public sealed record CancelPayload(string Target, string TargetId)
{
    public string? Reason { get; init; }

    public long? DeadlineMs { get; init; }
}

/// <summary>§10.4 <c>cancel.accepted</c>: a terminal event follows (at once when the job had no live owner).</summary>
public sealed record CancelAcceptedPayload(string Target, string TargetId)
{
    /// <summary>The job's state after the runtime handled the request: <c>cancelled</c>, or <c>running</c> while its owner winds down.</summary>
    public string? State { get; init; }
}

/// <summary>§10.4 <c>cancel.refused</c>, with <c>reason</c> <see cref="CancelRefusals"/>.</summary>
public sealed record CancelRefusedPayload(string Target, string TargetId, string Reason)
{
    public string? Message { get; init; }
}

public static class CancelRefusals
{
    public const string AlreadyTerminal = "already_terminal";
    public const string NotCancellable = "not_cancellable";
}

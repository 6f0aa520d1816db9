using System.Text.Json.Nodes;
using Arcp.Resumability.PowerShell.Serialization;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.PowerShell;

/// <summary>Operator-facing job states: §10.2 states (queued included), plus Interrupted for a running job nobody drives any more.</summary>
public enum ArcpJobState
{
    Running,
    Interrupted,
    Completed,
    Failed,
    Cancelled,

    /// <summary>Recorded on a durable queue (Start-ArcpJob -Queue), waiting for a worker.</summary>
    Queued,
}

/// <summary>A job as stored by the runtime; pipes into Resume-ArcpJob and Get-ArcpCheckpoint.</summary>
public sealed class ArcpJob
{
    internal ArcpJob(JobSummary summary, string store)
    {
        JobId = summary.JobId;
        Name = summary.Name;
        Workflow = summary.Workflow;
        State = ToState(summary);
        LastCheckpointId = summary.LastCheckpointId;
        LastCheckpointStep = summary.LastCheckpointStep;
        LastMessageId = summary.LastMessageId;
        Result = summary.Result is null ? null : PowerShellJson.FromJsonNode(summary.Result);
        Error = summary.Error is null ? null : new ArcpErrorInfo(summary.Error);
        CreatedAt = Timestamp(summary.CreatedAt);
        UpdatedAt = Timestamp(summary.UpdatedAt);
        IdempotencyKey = summary.IdempotencyKey;
        RetryOf = summary.RetryOf;
        Owner = summary.Owner is { } owner ? $"{owner.Host}/{owner.ProcessId}" : null;
        Store = Arcp.Resumability.Store.StoreFactory.Redact(store);
    }

    public string JobId { get; }

    public string? Name { get; }

    public string Workflow { get; }

    public ArcpJobState State { get; }

    public string? LastCheckpointId { get; }

    /// <summary>The step whose checkpoint is the job's latest.</summary>
    public string? LastCheckpointStep { get; }

    public string? LastMessageId { get; }

    /// <summary>The last step's output once the job completed.</summary>
    public object? Result { get; }

    public ArcpErrorInfo? Error { get; }

    public DateTimeOffset CreatedAt { get; }

    public DateTimeOffset UpdatedAt { get; }

    /// <summary>How long the job has been recorded: until its last update (for a finished job, its run time).</summary>
    public TimeSpan Duration => UpdatedAt - CreatedAt;

    public string? IdempotencyKey { get; }

    /// <summary>For a retry (Resume-ArcpJob -Retry): the JobId of the Failed or Cancelled job it continues.</summary>
    public string? RetryOf { get; }

    /// <summary>host/process of the live owner of a running job; empty when nobody drives it.</summary>
    public string? Owner { get; }

    /// <summary>The store the job lives in, without its password, so piping a job on keeps using the same store.</summary>
    public string Store { get; }

    /// <summary>True once the job completed, failed or was cancelled: nothing will change it any more.</summary>
    public bool IsFinished => State is ArcpJobState.Completed or ArcpJobState.Failed or ArcpJobState.Cancelled;

    public override string ToString() => $"{JobId} ({Workflow}, {State})";

    internal static DateTimeOffset Timestamp(string text) =>
        ArcpJson.TryParseTimestamp(text, out var value) ? value : throw new FormatException($"'{text}' is not an RFC 3339 timestamp.");

    private static ArcpJobState ToState(JobSummary summary) => summary.State switch
    {
        "completed" => ArcpJobState.Completed,
        "failed" => ArcpJobState.Failed,
        "cancelled" => ArcpJobState.Cancelled,
        "queued" => ArcpJobState.Queued,
        _ when summary.Interrupted => ArcpJobState.Interrupted,
        _ => ArcpJobState.Running,
    };
}

/// <summary>A recorded ARCP error (RFC 0001 §18).</summary>
public sealed class ArcpErrorInfo
{
    internal ArcpErrorInfo(ArcpError error)
    {
        Code = error.Code;
        Message = error.Message;
        Retryable = error.IsRetryable;
        Details = error.Details is null ? null : PowerShellJson.FromJsonNode(error.Details);
        Source = error;
    }

    /// <summary>The recorded error as the protocol carries it, to turn it back into an error record.</summary>
    internal ArcpError Source { get; }

    public string Code { get; }

    public string Message { get; }

    public bool Retryable { get; }

    public object? Details { get; }

    public override string ToString() => $"{Code}: {Message}";
}

/// <summary>A durable checkpoint: the recorded output of one step.</summary>
public sealed class ArcpCheckpoint
{
    /// <param name="warn">Told when the output holds values of an enum that is not loaded here (they read back as names).</param>
    internal ArcpCheckpoint(CheckpointSummary summary, string store, Action<string>? warn = null)
    {
        JobId = summary.JobId;
        CheckpointId = summary.CheckpointId;
        Step = summary.Step;
        StepIndex = summary.StepIndex;
        MessageId = summary.MessageId;
        IdempotencyKey = summary.IdempotencyKey;
        CreatedAt = ArcpJob.Timestamp(summary.CreatedAt);
        Output = summary.Output is JsonNode output ? PowerShellJson.FromJsonNode(output, warn, $"The output of step '{summary.Step}' (checkpoint {summary.CheckpointId})") : null;
        DefinitionVersion = summary.DefinitionVersion;
        StartedAt = summary.StartedAt is { } started ? ArcpJob.Timestamp(started) : null;
        Attempts = summary.Attempts;
        Duration = summary.DurationMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
        Store = Arcp.Resumability.Store.StoreFactory.Redact(store);
    }

    public string JobId { get; }

    public string CheckpointId { get; }

    /// <summary>The step name (the checkpoint's label).</summary>
    public string Step { get; }

    public int StepIndex { get; }

    /// <summary>Id of the job.checkpoint envelope; binds to Resume-ArcpJob -AfterMessageId.</summary>
    public string MessageId { get; }

    public string IdempotencyKey { get; }

    public DateTimeOffset CreatedAt { get; }

    public object? Output { get; }

    /// <summary>The version of the workflow definition that produced the checkpoint (declared Version or content hash).</summary>
    public string? DefinitionVersion { get; }

    /// <summary>When the step started in the run that recorded it; empty for checkpoints a retry carried over or older stores.</summary>
    public DateTimeOffset? StartedAt { get; }

    /// <summary>How many attempts the step took (failed attempts before a crash included).</summary>
    public int? Attempts { get; }

    /// <summary>How long the step ran, from StartedAt to its output.</summary>
    public TimeSpan? Duration { get; }

    public string Store { get; }

    public override string ToString() => $"{CheckpointId} ({Step})";
}

/// <summary>What Invoke-ArcpRetention removed, or with -WhatIf would remove (Applied is then false).</summary>
public sealed class ArcpRetentionSummary
{
    internal ArcpRetentionSummary(Arcp.Resumability.Jobs.RetentionResult result, string store, Arcp.Resumability.Store.StoreSpace? space = null)
    {
        SessionsRemoved = result.SessionsRemoved;
        AbandonedJobsRemoved = result.AbandonedJobsRemoved;
        BytesReclaimed = space?.BytesReclaimed;
        StoreBytes = space?.BytesAfter;
        EventCutoff = result.EventCutoff;
        JobCutoff = result.JobCutoff;
        EventsPurged = result.EventsPurged;
        JobsRemoved = result.JobsRemoved;
        CheckpointsRemoved = result.CheckpointsRemoved;
        IdempotencyRecordsRemoved = result.LedgerEntriesRemoved;
        Applied = result.Applied;
        Store = Arcp.Resumability.Store.StoreFactory.Redact(store);
    }

    /// <summary>Events logged before this were purged.</summary>
    public DateTimeOffset EventCutoff { get; }

    /// <summary>Finished jobs last updated before this were removed.</summary>
    public DateTimeOffset JobCutoff { get; }

    public int EventsPurged { get; }

    public int JobsRemoved { get; }

    /// <summary>Checkpoints of the removed jobs (retention never removes a remaining job's checkpoints).</summary>
    public int CheckpointsRemoved { get; }

    public int IdempotencyRecordsRemoved { get; }

    /// <summary>Rows of sessions that ended before the event cutoff.</summary>
    public int SessionsRemoved { get; }

    /// <summary>Unfinished jobs without a live lease removed under -AbandonedJobAge.</summary>
    public int AbandonedJobsRemoved { get; }

    /// <summary>Bytes given back to the file system after the deletions; empty with -WhatIf.</summary>
    public long? BytesReclaimed { get; }

    /// <summary>The store's size in bytes afterwards (SQLite: the database file; PostgreSQL: its tables); empty with -WhatIf.</summary>
    public long? StoreBytes { get; }

    public bool Applied { get; }

    /// <summary>The store, without its password.</summary>
    public string Store { get; }
}

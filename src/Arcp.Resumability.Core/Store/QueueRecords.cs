namespace Arcp.Resumability.Store;

/// <summary>A queued job's place in its queue; <see cref="ClaimedAt"/> is set once a worker took it.</summary>
public sealed record QueueEntry(string JobId, string Queue, int Priority, DateTimeOffset EnqueuedAt)
{
    public DateTimeOffset? ClaimedAt { get; init; }

    public string? ClaimedBy { get; init; }
}

/// <summary>
/// A claim of the next job of <see cref="Queue"/> for <see cref="ClaimedBy"/>: the job moves to running under
/// <see cref="Lease"/> at <see cref="Now"/> if the queue's limit leaves a slot. <see cref="ClaimedSince"/> is where a
/// claim not yet leased stops holding one (see <see cref="IQueueTransaction.CountActiveAsync"/>); with
/// <see cref="SlotFree"/> the caller has found a slot already (under the queue's lock) and the count is skipped.
/// </summary>
public sealed record QueueClaim(string Queue, string? Principal, IReadOnlyCollection<string>? Workflows, string ClaimedBy, JobLease Lease, DateTimeOffset Now, DateTimeOffset ClaimedSince)
{
    public bool SlotFree { get; init; }
}

/// <summary>
/// What <see cref="IQueueTransaction.TryClaimNextAsync"/> did: <see cref="Claimed"/>, the job as claimed, or null when
/// nothing was; <see cref="Full"/> when the count of active jobs reached <see cref="Limit"/> (the queue's limit, its row
/// locked until commit), so nothing was tried.
/// </summary>
public sealed record QueueClaimOutcome(int? Limit, bool Full, JobRecord? Claimed);

/// <summary>
/// A cron schedule as stored. <see cref="Cron"/> and <see cref="TimeZone"/> were validated when it was registered;
/// <see cref="Missed"/> holds a <c>ScheduleMissedPolicy</c> name.
/// </summary>
public sealed record ScheduleRecord
{
    public required string Principal { get; init; }

    public required string Name { get; init; }

    public required string Cron { get; init; }

    public required string TimeZone { get; init; }

    public required string Workflow { get; init; }

    /// <summary>Canonical JSON of the input every run starts with.</summary>
    public required string Inputs { get; init; }

    public required string Queue { get; init; }

    public required string Missed { get; init; }

    public required DateTimeOffset NextFireAt { get; init; }

    public DateTimeOffset? LastFireAt { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The inline steps each run executes when <see cref="Workflow"/> is <c>inline</c>; null for a named workflow.</summary>
    public ScheduleSteps? Steps { get; init; }
}

/// <summary>
/// Inline -Step script blocks a schedule runs: their script text as a recorded inline definition holds it, its
/// <c>sha256:</c> content hash and the version their checkpoints record. Each fired run gets them as its inline
/// <see cref="JobDefinitionRecord"/>.
/// </summary>
public sealed record ScheduleSteps(string Script, string ContentHash, string? Version);

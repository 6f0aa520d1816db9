namespace Arcp.Resumability.Jobs;

/// <summary>
/// How long history is kept. Checkpoints are not subject to event retention: they go only with their job. Session rows
/// age out with the events (a session closed, or never closed and holding no lease, before the event cutoff).
/// </summary>
public sealed record RetentionPolicy(TimeSpan EventAge, TimeSpan CompletedJobAge)
{
    /// <summary>
    /// When set, unfinished jobs nobody holds a live lease on and not updated for this long are removed whole, like
    /// finished ones; null (the default) keeps them resumable for ever.
    /// </summary>
    public TimeSpan? AbandonedJobAge { get; init; }

    public static TimeSpan DefaultEventAge { get; } = TimeSpan.FromDays(30);

    public static TimeSpan DefaultCompletedJobAge { get; } = TimeSpan.FromDays(90);
}

/// <summary>What one retention pass removed (or, when not applied, would remove).</summary>
public sealed record RetentionResult(
    DateTimeOffset EventCutoff,
    DateTimeOffset JobCutoff,
    int EventsPurged,
    int JobsRemoved,
    int CheckpointsRemoved,
    int LedgerEntriesRemoved,
    bool Applied)
{
    /// <summary>Rows of sessions that ended (or whose process died) before the event cutoff.</summary>
    public int SessionsRemoved { get; init; }

    /// <summary>Unfinished jobs without a live lease last updated before <see cref="AbandonedJobCutoff"/>; 0 without an abandoned-job age.</summary>
    public int AbandonedJobsRemoved { get; init; }

    public DateTimeOffset? AbandonedJobCutoff { get; init; }
}

namespace Arcp.Resumability.Jobs;

/// <summary>How long history is kept. Checkpoints are not subject to event retention: they go only with their job.</summary>
public sealed record RetentionPolicy(TimeSpan EventAge, TimeSpan CompletedJobAge)
{
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
    bool Applied);

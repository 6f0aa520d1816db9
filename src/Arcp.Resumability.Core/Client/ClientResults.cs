using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Client;

/// <summary>The answer to a cancel: accepted (with the job's state then) or refused with a §10.4 reason.</summary>
public sealed record CancelOutcome(bool Accepted, string? State, string? RefusedReason, string? Message);

/// <summary>A cancel request the runtime relayed for a job this session drives.</summary>
public sealed class CancelRequest : IDisposable
{
    private readonly CancellationTokenSource source = new();

    public CancellationToken Token => source.Token;

    public bool IsRequested => source.IsCancellationRequested;

    private readonly CancellationTokenSource overdue = new();

    public string? Reason { get; private set; }

    /// <summary>
    /// Fires when the cancel's deadline (§10.4 <c>deadline_ms</c>) is close: a step still running then is stopped, so the
    /// job ends cancelled within the deadline. Stopping starts a quarter of the deadline (at most 2 s) early, which
    /// leaves time to record the cancel.
    /// </summary>
    public CancellationToken Overdue => overdue.Token;

    internal void Request(string? reason, TimeSpan? deadline = null)
    {
        Reason ??= reason;
        source.Cancel();
        // A deadline beyond what a timer can hold (about 24 days) is as good as none.
        if (deadline is { } limit && limit.TotalMilliseconds < int.MaxValue)
        {
            var margin = TimeSpan.FromTicks(Math.Min(limit.Ticks / 4, TimeSpan.FromSeconds(2).Ticks));
            overdue.CancelAfter(limit - margin);
        }
    }

    public void Dispose()
    {
        source.Dispose();
        overdue.Dispose();
    }
}

public sealed record StartedJob(string JobId, bool Existing, string State, string AcceptedMessageId);

/// <summary>What a resume returned: the replayed frames verbatim and the end-of-replay marker.</summary>
public sealed record ResumeResult(IReadOnlyList<string> ReplayedFrames, ReplayComplete Complete)
{
    /// <summary>Set when retention purged part of the requested replay (§19 DATA_LOSS); the replay holds what was left.</summary>
    public ArcpError? DataLoss { get; init; }
}

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

    public string? Reason { get; private set; }

    internal void Request(string? reason)
    {
        Reason ??= reason;
        source.Cancel();
    }

    public void Dispose() => source.Dispose();
}

public sealed record StartedJob(string JobId, bool Existing, string State, string AcceptedMessageId);

/// <summary>What a resume returned: the replayed frames verbatim and the end-of-replay marker.</summary>
public sealed record ResumeResult(IReadOnlyList<string> ReplayedFrames, ReplayComplete Complete)
{
    /// <summary>Set when retention purged part of the requested replay (§19 DATA_LOSS); the replay holds what was left.</summary>
    public ArcpError? DataLoss { get; init; }
}

namespace Arcp.Resumability.Transports;

/// <summary>Limits every byte-stream transport enforces, so a peer can never make us buffer without bound.</summary>
public sealed record TransportOptions
{
    public const int DefaultMaxFrameBytes = 1024 * 1024;

    /// <summary>The largest frame (UTF-8 bytes, excluding the stdio newline) accepted from the peer.</summary>
    public int MaxFrameBytes { get; init; } = DefaultMaxFrameBytes;

    /// <summary>Frames queued for sending before <c>SendAsync</c> starts waiting for the peer to drain.</summary>
    public int SendQueueCapacity { get; init; } = 1024;

    /// <summary>
    /// How long a send may wait for room in a full queue. A peer that reads nothing for this long is
    /// treated as dead and its connection is closed: one stuck peer must not hold its session forever.
    /// </summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(30);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFrameBytes, 64, nameof(MaxFrameBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(SendQueueCapacity, 1, nameof(SendQueueCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(SendTimeout, TimeSpan.Zero, nameof(SendTimeout));
    }
}

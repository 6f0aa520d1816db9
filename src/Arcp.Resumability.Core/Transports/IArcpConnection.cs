namespace Arcp.Resumability.Transports;

/// <summary>
/// One end of a message transport. Frames are whole JSON texts, one envelope each; transports only
/// move frames and never interpret them, so every transport has the same protocol semantics.
/// </summary>
public interface IArcpConnection : IAsyncDisposable
{
    /// <summary>Sends one frame; waits while the peer's bounded queue is full.</summary>
    ValueTask SendAsync(string frame, CancellationToken cancellationToken);

    /// <summary>
    /// Sends frames in order: one <see cref="SendAsync(string, CancellationToken)"/> each, unless the transport can hand
    /// them to the peer together (the in-memory one does, so the peer reads the second without waiting for it).
    /// </summary>
    async ValueTask SendAllAsync(IReadOnlyList<string> frames, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(frames);
        foreach (var frame in frames)
        {
            await SendAsync(frame, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The next frame, or null once the peer closed the connection.</summary>
    ValueTask<string?> ReceiveAsync(CancellationToken cancellationToken);

    /// <summary>Stops sending; the peer's receive ends after the frames already sent.</summary>
    void Close();
}

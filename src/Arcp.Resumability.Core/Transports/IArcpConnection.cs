namespace Arcp.Resumability.Transports;

/// <summary>
/// One end of a message transport. Frames are whole JSON texts, one envelope each; transports only
/// move frames and never interpret them, so every transport has the same protocol semantics.
/// </summary>
public interface IArcpConnection : IAsyncDisposable
{
    /// <summary>Sends one frame; waits while the peer's bounded queue is full.</summary>
    ValueTask SendAsync(string frame, CancellationToken cancellationToken);

    /// <summary>The next frame, or null once the peer closed the connection.</summary>
    ValueTask<string?> ReceiveAsync(CancellationToken cancellationToken);

    /// <summary>Stops sending; the peer's receive ends after the frames already sent.</summary>
    void Close();
}

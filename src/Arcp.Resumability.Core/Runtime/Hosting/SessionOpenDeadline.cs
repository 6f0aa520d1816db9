using System.Text.Json;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Runtime.Hosting;

/// <summary>
/// A connection that must authenticate in time: unless the runtime sends <c>session.accepted</c> on it within
/// the deadline, <see cref="Expired"/> fires and the host ends the connection. Upgraded sockets that never open
/// a session (or keep guessing tokens) so hold a connection slot for a bounded time only.
/// </summary>
internal sealed class SessionOpenDeadline(IArcpConnection inner, TimeSpan deadline) : IArcpConnection
{
    private readonly CancellationTokenSource expiry = new(deadline);
    private volatile bool accepted;

    /// <summary>Cancelled when the deadline passed without an accepted session; never once a session is accepted.</summary>
    public CancellationToken Expired => expiry.Token;

    public async ValueTask SendAsync(string frame, CancellationToken cancellationToken)
    {
        await inner.SendAsync(frame, cancellationToken).ConfigureAwait(false);
        if (!accepted && IsSessionAccepted(frame))
        {
            accepted = true;
            // No effect when the deadline already fired: the host is then ending the connection anyway.
            expiry.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    public ValueTask<string?> ReceiveAsync(CancellationToken cancellationToken) => inner.ReceiveAsync(cancellationToken);

    public void Close() => inner.Close();

    public ValueTask DisposeAsync()
    {
        expiry.Dispose();
        return inner.DisposeAsync();
    }

    // The runtime's own outbound frames, so parsing them is safe; only the ones naming the type are parsed.
    internal static bool IsSessionAccepted(string frame)
    {
        if (!frame.Contains(MessageTypes.SessionAccepted, StringComparison.Ordinal))
        {
            return false;
        }

        using var document = JsonDocument.Parse(frame);
        return document.RootElement.TryGetProperty("type", out var type) && type.ValueEquals(MessageTypes.SessionAccepted);
    }
}

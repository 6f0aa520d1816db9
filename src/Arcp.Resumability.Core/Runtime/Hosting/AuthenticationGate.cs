using System.Net;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Runtime.Hosting;

/// <summary>
/// Stands between one remote connection and the runtime until a session is accepted: each <c>session.open</c> from
/// an address that used up its failed authentications is answered <c>session.rejected RATE_LIMITED</c> (with
/// <c>details.retry_after_ms</c>) here, so its credentials are never checked and guessing slows to the configured rate
/// whatever the number of connections. Like every refusal before authentication, the answer is counted, not stored.
/// </summary>
internal sealed class AuthenticationGate(IArcpConnection inner, IPAddress address, FailedAuthenticationThrottle throttle, ArcpRuntime runtime) : IArcpConnection
{
    private volatile bool accepted;

    public async ValueTask SendAsync(string frame, CancellationToken cancellationToken)
    {
        // Refunded before the peer can read the acceptance, so its next open from this address already finds the token back.
        if (!accepted && SessionOpenDeadline.IsSessionAccepted(frame))
        {
            accepted = true;
            throttle.Succeeded(address);
        }

        await inner.SendAsync(frame, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<string?> ReceiveAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var frame = await inner.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            if (accepted || frame is null || OpenRequest(frame) is not { } open)
            {
                return frame;
            }

            if (throttle.TryBeginAttempt(address) is not { } retryAfter)
            {
                return frame;
            }

            runtime.CountUnauthenticatedFrame();
            var waitMs = (long)Math.Ceiling(retryAfter.TotalMilliseconds);
            runtime.Options.Diagnostics?.Invoke($"Refused session.open ({FrameValidator.Printable(open.Id)}) from {address} unchecked: too many failed authentications from that address.");
            var error = ArcpError.Create(ErrorCodes.RateLimited, $"Too many failed authentications from this address; try again in {waitMs} ms.", new JsonObject { ["retry_after_ms"] = waitMs });
            await inner.SendAsync(EnvelopeCodec.Serialize(Envelope.Create(MessageTypes.SessionRejected, error, correlationId: open.Id)), cancellationToken).ConfigureAwait(false);
        }
    }

    public void Close() => inner.Close();

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    /// <returns>The envelope when <paramref name="frame"/> is a well-formed <c>session.open</c>; anything else is the runtime's to answer.</returns>
    private static Envelope? OpenRequest(string frame)
    {
        try
        {
            var envelope = EnvelopeCodec.Parse(frame);
            return envelope.Type == MessageTypes.SessionOpen ? envelope : null;
        }
        catch (EnvelopeFormatException)
        {
            return null;
        }
    }
}

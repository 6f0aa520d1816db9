using System.Text.Json;
using System.Text.Json.Nodes;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// §8.1/§8.2 before acceptance: authenticates a <c>session.open</c> and turns it into an open
/// <see cref="RuntimeSession"/> (with its id, principal and process), or rejects it. Nothing else is served yet.
/// </summary>
internal sealed class SessionHandshake(ArcpRuntime runtime, IArcpConnection connection, string? preAuthenticatedPrincipal, CancellationTokenSource sessionStop)
{
    /// <returns>The open session, or null while the peer has not opened one.</returns>
    public async Task<RuntimeSession?> HandleAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        if (envelope.Type != MessageTypes.SessionOpen)
        {
            // §8.1: nothing but the handshake before acceptance; drop it and say so in the diagnostics.
            runtime.CountUnauthenticatedFrame();
            runtime.Options.Diagnostics?.Invoke($"Dropped '{FrameValidator.Printable(envelope.Type)}' ({FrameValidator.Printable(envelope.Id)}) received before the session was accepted.");
            return null;
        }

        SessionOpenPayload open;
        try
        {
            open = envelope.PayloadAs<SessionOpenPayload>();
        }
        catch (JsonException ex)
        {
            await RejectAsync(envelope, ArcpError.Create(ErrorCodes.InvalidArgument, $"session.open payload does not match its schema{EnvelopeCodec.AtPath(ex)}."), cancellationToken).ConfigureAwait(false);
            return null;
        }

        var authenticated = Authenticate(open);
        if (authenticated.Error is { } error)
        {
            await RejectAsync(envelope, error, cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (ExtensionNegotiation.Unsupported(open.Capabilities, runtime.Capabilities()) is { Count: > 0 } unsupported)
        {
            // §7: "Required-but-unsupported features MUST result in session.rejected with code: UNIMPLEMENTED."
            var names = new JsonArray(unsupported.Select(name => JsonValue.Create(FrameValidator.Printable(name))).ToArray<JsonNode?>());
            await RejectAsync(envelope, ArcpError.Create(ErrorCodes.Unimplemented, $"This runtime does not support what the client requires: {string.Join(", ", unsupported.Select(name => FrameValidator.Printable(name)))}.", new JsonObject { ["unsupported"] = names }), cancellationToken).ConfigureAwait(false);
            return null;
        }

        // §9: a client reconnecting to a durable session sends session.open with that session's id.
        var resumed = preAuthenticatedPrincipal is null ? envelope.SessionId : null;
        var sessionId = resumed ?? ArcpId.NewSessionId();
        var process = ProcessIdentity.FromExtension(envelope) ?? new ProcessIdentity("remote:" + sessionId, 0, runtime.Now);
        var holder = new JobHolder(sessionId, authenticated.Principal, process);
        if (resumed is not null && await RefuseReopeningAsync(holder, open.Client?.Kind, cancellationToken).ConfigureAwait(false) is { } refusal)
        {
            await RejectAsync(envelope, refusal, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var session = new RuntimeSession(runtime, connection, holder, sessionStop);
        await session.AcceptAsync(envelope, WithoutCredentials(frame), open.Client?.Kind, resumed is not null, cancellationToken).ConfigureAwait(false);
        return session;
    }

    /// <summary>
    /// Reopens the ended session <paramref name="holder"/> names for its principal; the error to reject with otherwise.
    /// Unknown ids and other principals' sessions get the same words, so an id reveals nothing about who holds it.
    /// </summary>
    private async Task<ArcpError?> RefuseReopeningAsync(JobHolder holder, string? clientKind, CancellationToken cancellationToken)
    {
        if (runtime.SessionPrincipal(holder.SessionId) == holder.Principal)
        {
            // Usually the old connection dropped and the runtime has not noticed yet; it will (keep-alives, send timeouts).
            return ArcpError.Create(ErrorCodes.Aborted, $"Session '{holder.SessionId}' is still open on another connection; retry once that connection has ended.", new JsonObject { ["session_id"] = holder.SessionId });
        }

        return ArcpId.IsWellFormedPeerId(holder.SessionId) && await runtime.Jobs.ReopenSessionAsync(holder, clientKind, cancellationToken).ConfigureAwait(false)
            ? null
            : ArcpError.Create(ErrorCodes.NotFound, $"Session '{FrameValidator.Printable(holder.SessionId)}' cannot be resumed: it is not an ended session of this principal. Open a new session (without 'session_id') and resume its jobs.", new JsonObject { ["session_id"] = holder.SessionId });
    }

    private (string Principal, ArcpError? Error) Authenticate(SessionOpenPayload open)
    {
        if (preAuthenticatedPrincipal is not null)
        {
            // The runtime's own job driver, connected in process on behalf of the job's principal.
            return (preAuthenticatedPrincipal, null);
        }

        switch (open.Auth?.Scheme)
        {
            case "bearer" when runtime.Options.BearerTokens.TryAuthenticate(open.Auth.Token, out var tokenPrincipal):
                return (tokenPrincipal, null);
            case "bearer":
                return (string.Empty, ArcpError.Create(ErrorCodes.Unauthenticated, "The bearer token is missing or not recognised."));
            case "none" when runtime.Options.AllowAnonymous && (open.Capabilities?["anonymous"]) is JsonValue anonymous && anonymous.TryGetValue(out bool yes) && yes:
                return (runtime.Options.AnonymousPrincipal, null);
            case "none":
                return (string.Empty, ArcpError.Create(ErrorCodes.Unauthenticated, "Anonymous sessions are not allowed here (they need capabilities.anonymous: true and a runtime configured for anonymous use)."));
            case null:
                return (string.Empty, ArcpError.Create(ErrorCodes.Unauthenticated, "session.open carries no auth block."));
            default:
                return (string.Empty, ArcpError.Create(ErrorCodes.Unimplemented, $"Authentication scheme '{open.Auth.Scheme}' is not supported; use 'bearer'."));
        }
    }

    /// <summary>The <c>session.open</c> frame as it is logged: a bearer token is never written to the store.</summary>
    private static string WithoutCredentials(string frame)
    {
        var node = ArcpJson.ParseNode(frame)!.AsObject();
        if (node["payload"]?["auth"] is JsonObject auth && auth.Remove("token"))
        {
            auth["token_redacted"] = true;
        }

        return ArcpJson.ToText(node);
    }

    /// <summary>
    /// A refusal before authentication is answered but not logged: an unauthenticated peer must not be able to
    /// grow the store (finding 9). It is counted instead.
    /// </summary>
    private async Task RejectAsync(Envelope envelope, ArcpError error, CancellationToken cancellationToken)
    {
        runtime.CountUnauthenticatedFrame();
        var rejected = Envelope.Create(MessageTypes.SessionRejected, error, correlationId: envelope.Id);
        await connection.SendAsync(EnvelopeCodec.Serialize(rejected), cancellationToken).ConfigureAwait(false);
    }
}

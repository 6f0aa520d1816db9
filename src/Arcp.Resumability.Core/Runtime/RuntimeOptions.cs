using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Runtime;

public sealed record RuntimeOptions
{
    public RuntimeIdentity Identity { get; init; } = new("arcp-resumability", typeof(RuntimeOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0", TrustLevel: "trusted");

    /// <summary>Bearer tokens and the principal each one authenticates, held as hashes only.</summary>
    public TokenAuthenticator BearerTokens { get; init; } = TokenAuthenticator.None;

    /// <summary>Principals allowed to send the <c>arcpx.resumability.shutdown.v1</c> admin message.</summary>
    public IReadOnlySet<string> AdminPrincipals { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Whether <c>auth.scheme: none</c> is accepted (only with <c>capabilities.anonymous: true</c>, §8.2).</summary>
    public bool AllowAnonymous { get; init; }

    /// <summary>The principal of this process's user: the embedded runtime's anonymous sessions act as it.</summary>
    public static string LocalPrincipal { get; } = "local:" + Environment.UserName;

    /// <summary>
    /// The principal anonymous sessions act as. A hosted runtime's anonymous peers are strangers, so they share
    /// <c>anonymous</c>, never the local user's principal; only the embedded runtime sets <see cref="LocalPrincipal"/>.
    /// </summary>
    public string AnonymousPrincipal { get; init; } = "anonymous";

    /// <summary>How long a job's owner may stay silent before anyone may take the job over.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Advertised as <c>heartbeat_interval_seconds</c>; owners heartbeat at least this often.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long <c>(principal, idempotency_key)</c> outcomes are kept (§6.4 asks for at least the lease horizon).</summary>
    public TimeSpan IdempotencyHorizon { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Runs the workflows this runtime runs itself when a <c>workflow.start</c> does not say the client drives (see <see cref="Protocol.MessageTypes.DriverExtension"/>); none when null.</summary>
    public IJobDriver? Driver { get; init; }

    /// <summary>Per-principal limits on inbound messages and bytes per second; none when null (the embedded runtime's default).</summary>
    public QuotaOptions? Quota { get; init; }

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Receives diagnostics such as messages dropped before a session was accepted.</summary>
    public Action<string>? Diagnostics { get; init; }
}

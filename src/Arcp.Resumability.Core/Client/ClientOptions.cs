using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Client;

public sealed record ClientOptions
{
    /// <summary>Credentials for §8.2; the embedded runtime accepts anonymous sessions.</summary>
    public AuthBlock Auth { get; init; } = new("none");

    public ClientIdentity Identity { get; init; } = new("arcp-resumability-client", typeof(ClientOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    /// <summary>
    /// How long to wait for the answer to one command before giving up with DEADLINE_EXCEEDED. Every command is
    /// answered as soon as it is persisted or refused, so a peer silent this long is not going to answer.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = DefaultRequestTimeout;

    /// <summary>
    /// Waiting out a runtime's quota: a request refused with <c>retry_after_ms</c> is resent after that wait, within
    /// these bounds (each attempt gets its own <see cref="RequestTimeout"/>). Null surfaces every refusal at once.
    /// </summary>
    public ThrottleRetryOptions? ThrottleRetry { get; init; } = new();

    public static TimeSpan DefaultRequestTimeout { get; } = TimeSpan.FromSeconds(30);
}

using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Client;

public sealed record ClientOptions
{
    /// <summary>Credentials for §8.2; the embedded runtime accepts anonymous sessions.</summary>
    public AuthBlock Auth { get; init; } = new("none");

    public ClientIdentity Identity { get; init; } = new("arcp-resumability-client", typeof(ClientOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    /// <summary>How long to wait for the answer to one command before giving up with DEADLINE_EXCEEDED.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

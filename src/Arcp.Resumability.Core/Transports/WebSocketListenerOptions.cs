namespace Arcp.Resumability.Transports;

/// <summary>What a <see cref="WebSocketListener"/> lets in: browser origins, connection counts and handshake time.</summary>
public sealed record WebSocketListenerOptions
{
    /// <summary>
    /// Origins (<c>https://app.example</c>) whose pages may connect. A request with any other <c>Origin</c> header is
    /// refused with 403, so a web page cannot drive a runtime on the user's machine; clients that are not browsers
    /// send no <c>Origin</c> and are not affected. Empty: no browser page may connect.
    /// </summary>
    public IReadOnlyCollection<string> AllowedOrigins { get; init; } = [];

    /// <summary>Open connections (handshaking or upgraded) from all addresses together; more are closed at once.</summary>
    public int MaxConnections { get; init; } = 256;

    /// <summary>Open connections from one IP address; more from that address are closed at once.</summary>
    public int MaxConnectionsPerAddress { get; init; } = 32;

    /// <summary>How long a client has for TLS and the HTTP upgrade; handshakes run concurrently.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(AllowedOrigins, nameof(AllowedOrigins));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1, nameof(MaxConnections));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnectionsPerAddress, 1, nameof(MaxConnectionsPerAddress));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(HandshakeTimeout, TimeSpan.Zero, nameof(HandshakeTimeout));
    }

    internal bool Allows(string origin) =>
        AllowedOrigins.Any(allowed => string.Equals(allowed.TrimEnd('/'), origin.Trim().TrimEnd('/'), StringComparison.OrdinalIgnoreCase));
}

using System.Net.Security;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Client;

/// <summary>Opens client sessions on a runtime served over WebSocket (see <c>Start-ArcpRuntime</c>).</summary>
public static class RemoteArcp
{
    /// <summary>True for the <c>ws://</c> and <c>wss://</c> addresses a remote runtime is reached at.</summary>
    public static bool IsRuntimeAddress(string? text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "ws" or "wss";

    /// <summary>
    /// Connects and opens a session: bearer auth with <paramref name="token"/>, anonymous without one.
    /// <paramref name="certificateValidation"/> replaces the system's TLS check (for pinned or self-signed certificates).
    /// </summary>
    public static Task<ArcpClient> ConnectAsync(Uri runtime, string? token, RemoteCertificateValidationCallback? certificateValidation, TransportOptions? transport, CancellationToken cancellationToken) =>
        ConnectAsync(runtime, token, certificateValidation, transport, ClientOptions.DefaultRequestTimeout, cancellationToken);

    /// <summary>As above, waiting at most <paramref name="requestTimeout"/> for the answer to each command.</summary>
    public static async Task<ArcpClient> ConnectAsync(Uri runtime, string? token, RemoteCertificateValidationCallback? certificateValidation, TransportOptions? transport, TimeSpan requestTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        WebSocketConnection connection;
        try
        {
            connection = await WebSocketConnection.ConnectAsync(
                runtime,
                transport,
                certificateValidation is null ? null : o => o.RemoteCertificateValidationCallback = certificateValidation,
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or System.Net.Http.HttpRequestException or IOException)
        {
            throw new ArcpException(ArcpError.Create(ErrorCodes.Unavailable, $"Cannot reach the ARCP runtime at {runtime}: {ex.Message}"), ex);
        }

        var options = new ClientOptions { Auth = string.IsNullOrEmpty(token) ? new AuthBlock("none") : new AuthBlock("bearer", token), RequestTimeout = requestTimeout };
        return await ArcpClient.ConnectAsync(connection, options, cancellationToken).ConfigureAwait(false);
    }
}

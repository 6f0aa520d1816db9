using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Arcp.Resumability.Transports;

/// <summary>
/// A small WebSocket server on a <see cref="TcpListener"/>: it performs the RFC 6455 upgrade itself
/// (so the core needs no ASP.NET) and wraps the socket in TLS when given a certificate. Only
/// <c>GET</c> upgrades on the configured path are accepted; anything else is answered with an HTTP
/// error and closed.
/// </summary>
public sealed class WebSocketListener : IAsyncDisposable
{
    private const string WebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private const int MaxHeaderBytes = 16 * 1024;
    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);
    private readonly TcpListener listener;
    private readonly X509Certificate2? certificate;
    private readonly TransportOptions options;

    private WebSocketListener(TcpListener listener, string path, X509Certificate2? certificate, TransportOptions options)
    {
        this.listener = listener;
        this.certificate = certificate;
        this.options = options;
        Path = path;
    }

    public string Path { get; }

    /// <summary>The bound endpoint (the real port when the address asked for port 0).</summary>
    public IPEndPoint LocalEndpoint => (IPEndPoint)listener.LocalEndpoint;

    /// <summary>The address clients connect to, with the real port.</summary>
    public Uri Address => new UriBuilder(certificate is null ? "ws" : "wss", LocalEndpoint.Address.ToString(), LocalEndpoint.Port, Path).Uri;

    /// <summary>
    /// Starts listening on <paramref name="address"/> (<c>ws://host:port/path</c>, or <c>wss://</c> with a
    /// certificate). The host must be an IP address or <c>localhost</c>.
    /// </summary>
    public static WebSocketListener Start(Uri address, X509Certificate2? certificate, TransportOptions? options)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Scheme is not ("ws" or "wss"))
        {
            throw new ArgumentException($"'{address}' is not a ws:// or wss:// address.", nameof(address));
        }

        if (address.Scheme == "wss" && certificate is null)
        {
            throw new ArgumentException($"'{address}' asks for TLS (wss://) but no certificate was given.", nameof(certificate));
        }

        if (address.Scheme == "ws" && certificate is not null)
        {
            throw new ArgumentException($"A certificate was given but '{address}' is plain ws://; use wss://.", nameof(certificate));
        }

        if (certificate is not null && !certificate.HasPrivateKey)
        {
            throw new ArgumentException("The TLS certificate has no private key.", nameof(certificate));
        }

        var ip = address.IsLoopback && !IPAddress.TryParse(address.Host, out _) ? IPAddress.Loopback
            : IPAddress.TryParse(address.Host, out var parsed) ? parsed
            : throw new ArgumentException($"Listen on an IP address (or localhost), not '{address.Host}'.", nameof(address));
        var resolved = options ?? new TransportOptions();
        resolved.Validate();
        var listener = new TcpListener(ip, address.Port);
        listener.Start();
        var path = string.IsNullOrEmpty(address.AbsolutePath) || address.AbsolutePath == "/" ? "/arcp" : address.AbsolutePath;
        return new WebSocketListener(listener, path, certificate, resolved);
    }

    /// <summary>
    /// Waits for the next client and completes its upgrade. Clients that fail the handshake are answered
    /// and dropped here; the loop goes on to the next one.
    /// </summary>
    public async Task<WebSocketConnection> AcceptAsync(Action<string>? diagnostics, CancellationToken cancellationToken)
    {
        while (true)
        {
            var client = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(HandshakeTimeout);
            Stream? stream = null;
            try
            {
                client.NoDelay = true;
                stream = client.GetStream();
                if (certificate is not null)
                {
                    var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                    stream = tls;
                    await tls.AuthenticateAsServerAsync(
                        new SslServerAuthenticationOptions { ServerCertificate = certificate, EnabledSslProtocols = SslProtocols.None, ClientCertificateRequired = false },
                        timeout.Token).ConfigureAwait(false);
                }

                if (await UpgradeAsync(stream, timeout.Token).ConfigureAwait(false))
                {
                    var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.FromSeconds(30) });
                    return new WebSocketConnection(socket, options, new StreamAndClient(stream, client));
                }
            }
            catch (Exception ex) when (ex is IOException or AuthenticationException or OperationCanceledException or SocketException && !cancellationToken.IsCancellationRequested)
            {
                diagnostics?.Invoke($"WebSocket handshake with {client.Client.RemoteEndPoint} failed: {ex.Message}");
            }

            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            client.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        listener.Stop();
        listener.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <returns>True when the request was a valid upgrade for our path and 101 was sent.</returns>
    private async Task<bool> UpgradeAsync(Stream stream, CancellationToken cancellationToken)
    {
        var request = await ReadHeaderAsync(stream, cancellationToken).ConfigureAwait(false);
        if (request is null)
        {
            await RespondAsync(stream, "431 Request Header Fields Too Large", cancellationToken).ConfigureAwait(false);
            return false;
        }

        var lines = request.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var start = lines.Length > 0 ? lines[0].Split(' ') : [];
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in lines.Skip(1))
        {
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[header[..colon].Trim()] = header[(colon + 1)..].Trim();
            }
        }

        if (start.Length != 3 || start[0] != "GET")
        {
            await RespondAsync(stream, "405 Method Not Allowed", cancellationToken).ConfigureAwait(false);
            return false;
        }

        var target = start[1];
        var query = target.IndexOf('?', StringComparison.Ordinal);
        if ((query < 0 ? target : target[..query]) != Path)
        {
            await RespondAsync(stream, "404 Not Found", cancellationToken).ConfigureAwait(false);
            return false;
        }

        if (!headers.TryGetValue("Upgrade", out var upgrade) || !upgrade.Equals("websocket", StringComparison.OrdinalIgnoreCase)
            || !headers.TryGetValue("Sec-WebSocket-Key", out var key) || key.Length == 0
            || !headers.TryGetValue("Sec-WebSocket-Version", out var version) || version != "13")
        {
            await RespondAsync(stream, "426 Upgrade Required", cancellationToken, "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n").ConfigureAwait(false);
            return false;
        }

#pragma warning disable CA5350 // RFC 6455 §4.2.2 fixes SHA-1 for Sec-WebSocket-Accept; it is a handshake check, not security.
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + WebSocketGuid)));
#pragma warning restore CA5350
        await RespondAsync(stream, "101 Switching Protocols", cancellationToken, $"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n", close: false).ConfigureAwait(false);
        return true;
    }

    /// <summary>Reads the request head byte by byte, so no WebSocket bytes after it are consumed.</summary>
    private static async Task<string?> ReadHeaderAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxHeaderBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length, 1), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new IOException("The client closed the connection during the handshake.");
            }

            length++;
            if (length >= 4 && buffer[length - 4] == '\r' && buffer[length - 3] == '\n' && buffer[length - 2] == '\r' && buffer[length - 1] == '\n')
            {
                return Encoding.ASCII.GetString(buffer, 0, length);
            }
        }

        return null;
    }

    private static async Task RespondAsync(Stream stream, string status, CancellationToken cancellationToken, string headers = "", bool close = true)
    {
        var text = $"HTTP/1.1 {status}\r\n{headers}{(close ? "Connection: close\r\nContent-Length: 0\r\n" : string.Empty)}\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private sealed class StreamAndClient(Stream stream, TcpClient client) : IDisposable
    {
        public void Dispose()
        {
            stream.Dispose();
            client.Dispose();
        }
    }
}

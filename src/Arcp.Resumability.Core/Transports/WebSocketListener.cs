using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Channels;

namespace Arcp.Resumability.Transports;

/// <summary>
/// A small WebSocket server on a <see cref="TcpListener"/>: it performs the RFC 6455 upgrade itself
/// (so the core needs no ASP.NET) and wraps the socket in TLS when given a certificate. Only
/// <c>GET</c> upgrades on the configured path are accepted; anything else is answered with an HTTP
/// error and closed. Handshakes run concurrently, each with its own timeout, so idle or slow clients
/// never delay another; connections are capped in total and per IP address, and a browser page is
/// refused unless its <c>Origin</c> is allowed (<see cref="WebSocketListenerOptions"/>).
/// </summary>
public sealed class WebSocketListener : IAsyncDisposable
{
    private const string WebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private const int MaxHeaderBytes = 16 * 1024;
    private readonly TcpListener listener;
    private readonly X509Certificate2? certificate;
    private readonly TransportOptions options;
    private readonly WebSocketListenerOptions limits;
    private readonly Channel<WebSocketConnection> upgraded = Channel.CreateUnbounded<WebSocketConnection>();
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentDictionary<IPAddress, int> perAddress = new();
    private readonly object startGate = new();
    private Task? acceptPump;
    private int open;

    private WebSocketListener(TcpListener listener, string path, X509Certificate2? certificate, TransportOptions options, WebSocketListenerOptions limits)
    {
        this.listener = listener;
        this.certificate = certificate;
        this.options = options;
        this.limits = limits;
        Path = path;
    }

    /// <summary>Connections open now, handshaking or upgraded.</summary>
    public int OpenConnections => Volatile.Read(ref open);

    public string Path { get; }

    /// <summary>The bound endpoint (the real port when the address asked for port 0).</summary>
    public IPEndPoint LocalEndpoint => (IPEndPoint)listener.LocalEndpoint;

    /// <summary>The address clients connect to, with the real port.</summary>
    public Uri Address => new UriBuilder(certificate is null ? "ws" : "wss", LocalEndpoint.Address.ToString(), LocalEndpoint.Port, Path).Uri;

    /// <summary>
    /// Starts listening on <paramref name="address"/> (<c>ws://host:port/path</c>, or <c>wss://</c> with a
    /// certificate). The host must be an IP address or <c>localhost</c>.
    /// </summary>
    public static WebSocketListener Start(Uri address, X509Certificate2? certificate, TransportOptions? options, WebSocketListenerOptions? limits = null)
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
        var resolvedLimits = limits ?? new WebSocketListenerOptions();
        resolvedLimits.Validate();
        var listener = new TcpListener(ip, address.Port);
        listener.Start();
        var path = string.IsNullOrEmpty(address.AbsolutePath) || address.AbsolutePath == "/" ? "/arcp" : address.AbsolutePath;
        return new WebSocketListener(listener, path, certificate, resolved, resolvedLimits);
    }

    /// <summary>
    /// The next client whose upgrade completed. The first call starts accepting; clients that fail the
    /// handshake, or would exceed a connection limit, are answered (or dropped) and reported to
    /// <paramref name="diagnostics"/> without ever reaching a caller.
    /// </summary>
    public async Task<WebSocketConnection> AcceptAsync(Action<string>? diagnostics, CancellationToken cancellationToken)
    {
        lock (startGate)
        {
            acceptPump ??= Task.Run(() => AcceptLoopAsync(diagnostics), CancellationToken.None);
        }

        try
        {
            return await upgraded.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new ObjectDisposedException("The listener was stopped.", ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        listener.Stop();
        listener.Dispose();
        if (acceptPump is not null)
        {
            await acceptPump.ConfigureAwait(false);
        }

        upgraded.Writer.TryComplete();
        while (upgraded.Reader.TryRead(out var unclaimed))
        {
            await unclaimed.DisposeAsync().ConfigureAwait(false);
        }

        stopping.Dispose();
    }

    private async Task AcceptLoopAsync(Action<string>? diagnostics)
    {
        var handshakes = new ConcurrentDictionary<Task, bool>();
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException && stopping.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException ex)
            {
                // One failed accept (a peer that reset before we took it) must not stop the listener.
                diagnostics?.Invoke($"WebSocket accept failed: {ex.Message}");
                continue;
            }

            var address = (client.Client.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
            if (!TryAdmit(address, out var refusal))
            {
                diagnostics?.Invoke($"WebSocket connection from {address} refused: {refusal}.");
                client.Dispose();
                continue;
            }

            var handshake = HandshakeAsync(client, address, diagnostics);
            handshakes[handshake] = true;
            _ = handshake.ContinueWith(done => handshakes.TryRemove(done, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        await Task.WhenAll(handshakes.Keys).ConfigureAwait(false);
    }

    private bool TryAdmit(IPAddress address, out string refusal)
    {
        if (Interlocked.Increment(ref open) > limits.MaxConnections)
        {
            Interlocked.Decrement(ref open);
            refusal = $"{limits.MaxConnections} connections are open, the most this runtime allows";
            return false;
        }

        if (perAddress.AddOrUpdate(address, 1, (_, count) => count + 1) > limits.MaxConnectionsPerAddress)
        {
            Release(address);
            refusal = $"{limits.MaxConnectionsPerAddress} connections from this address are open, the most one address may have";
            return false;
        }

        refusal = string.Empty;
        return true;
    }

    private void Release(IPAddress address)
    {
        Interlocked.Decrement(ref open);
        if (perAddress.AddOrUpdate(address, 0, (_, count) => count - 1) <= 0)
        {
            perAddress.TryRemove(KeyValuePair.Create(address, 0));
        }
    }

    private async Task HandshakeAsync(TcpClient client, IPAddress address, Action<string>? diagnostics)
    {
        // Off the accept loop at once: a client that says nothing only ever costs its own timeout.
        await Task.Yield();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        timeout.CancelAfter(limits.HandshakeTimeout);
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
                var connection = new WebSocketConnection(socket, options, new StreamAndClient(stream, client, () => Release(address))) { RemoteAddress = address };
                if (upgraded.Writer.TryWrite(connection))
                {
                    return;
                }

                await connection.DisposeAsync().ConfigureAwait(false);
                return;
            }
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
            diagnostics?.Invoke($"WebSocket handshake with {address} failed: {(ex is OperationCanceledException ? "it took too long" : ex.Message)}");
        }

        if (stream is not null)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }

        client.Dispose();
        Release(address);
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

        if (headers.TryGetValue("Origin", out var origin) && !limits.Allows(origin))
        {
            // A browser page: refused unless the operator allowed its origin (cross-site WebSocket hijacking).
            await RespondAsync(stream, "403 Forbidden", cancellationToken).ConfigureAwait(false);
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

    private sealed class StreamAndClient(Stream stream, TcpClient client, Action release) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            stream.Dispose();
            client.Dispose();
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                release();
            }
        }
    }
}

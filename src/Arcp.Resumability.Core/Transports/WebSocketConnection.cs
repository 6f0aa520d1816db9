using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using System.Text;

namespace Arcp.Resumability.Transports;

/// <summary>
/// The WebSocket transport (RFC 0001 §22): one envelope per text message. Binary messages are refused
/// (we do not negotiate §11.3 sidecar frames), messages over the frame limit are skipped without being
/// buffered, and a close from the peer ends the receive side.
/// </summary>
public sealed class WebSocketConnection : QueuedConnection
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly WebSocket socket;
    private readonly IDisposable? owner;
    private readonly MemoryStream message = new();

    /// <param name="socket">An open WebSocket; the connection owns and disposes it.</param>
    /// <param name="owner">Something else to dispose with the socket (the TCP client or TLS stream beneath a server socket).</param>
    public WebSocketConnection(WebSocket socket, TransportOptions? options = null, IDisposable? owner = null)
        : base(options ?? new TransportOptions())
    {
        ArgumentNullException.ThrowIfNull(socket);
        this.socket = socket;
        this.owner = owner;
    }

    /// <summary>The peer's IP address on a server connection (<see cref="IPAddress.None"/> when unknown), for per-address limits.</summary>
    public IPAddress RemoteAddress { get; init; } = IPAddress.None;

    /// <summary>Connects to a runtime at <paramref name="uri"/> (<c>ws://</c> or <c>wss://</c>).</summary>
    public static async Task<WebSocketConnection> ConnectAsync(Uri uri, TransportOptions? options, Action<ClientWebSocketOptions>? configure, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (uri.Scheme is not ("ws" or "wss"))
        {
            throw new ArgumentException($"'{uri}' is not a ws:// or wss:// address.", nameof(uri));
        }

        var client = new ClientWebSocket();
        try
        {
            client.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
            configure?.Invoke(client.Options);
            await client.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
            return new WebSocketConnection(client, options);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public override async ValueTask<string?> ReceiveAsync(CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        // Cancelling a pending WebSocket receive aborts the socket, dropping frames still queued for the
        // peer. Cancellation starts the close handshake instead; the peer's close then ends the receive.
        using var closeOnCancel = cancellationToken.Register(CloseGracefully);
        try
        {
            message.SetLength(0);
            long total = 0;
            while (true)
            {
                ValueWebSocketReceiveResult result;
                try
                {
                    result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).ConfigureAwait(false);
                }
                catch (WebSocketException ex)
                {
                    throw new IOException($"The WebSocket connection failed: {ex.Message}", ex);
                }
                catch (ObjectDisposedException ex)
                {
                    throw new IOException("The WebSocket connection was closed.", Fault ?? ex);
                }

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    // Answer the peer's close once our queued frames are out, completing the handshake.
                    Close();
                    cancellationToken.ThrowIfCancellationRequested();
                    return null;
                }

                total += result.Count;
                if (total <= Options.MaxFrameBytes)
                {
                    message.Write(buffer, 0, result.Count);
                }

                if (!result.EndOfMessage)
                {
                    continue;
                }

                if (total > Options.MaxFrameBytes)
                {
                    throw InvalidFrameException.TooLarge(total, Options.MaxFrameBytes);
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    throw new InvalidFrameException("Binary WebSocket messages are not supported; send each envelope as one text message.");
                }

                try
                {
                    return StrictUtf8.GetString(message.GetBuffer(), 0, (int)message.Length);
                }
                catch (DecoderFallbackException ex)
                {
                    throw new InvalidFrameException("Frame is not valid UTF-8; it was discarded.", ex);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void CloseGracefully()
    {
        Close();
        // A peer that never answers the close frame must not keep the receive (and its session) alive.
        _ = Task.Delay(TimeSpan.FromSeconds(5)).ContinueWith(_ => socket.Abort(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    protected override async ValueTask WriteFrameAsync(string frame, CancellationToken cancellationToken)
    {
        var bytes = StrictUtf8.GetBytes(frame);
        await socket.SendAsync(bytes.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
    }

    protected override async ValueTask CompleteOutputAsync(CancellationToken cancellationToken)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "session over", cancellationToken).ConfigureAwait(false);
        }
    }

    protected override void Abort()
    {
        socket.Abort();
        owner?.Dispose();
    }

    protected override async ValueTask DisposeTransportAsync()
    {
        socket.Dispose();
        owner?.Dispose();
        await message.DisposeAsync().ConfigureAwait(false);
    }
}

using System.Threading.Channels;

namespace Arcp.Resumability.Transports;

/// <summary>
/// Sending side shared by the byte-stream transports: frames go through a bounded queue drained by one
/// writer task, so callers never write to the stream concurrently and a slow peer costs at most
/// <see cref="TransportOptions.SendQueueCapacity"/> frames of memory. A peer that does not drain the
/// queue within <see cref="TransportOptions.SendTimeout"/> gets its connection closed.
/// </summary>
public abstract class QueuedConnection : IArcpConnection
{
    private readonly Channel<string> outbound;
    private readonly CancellationTokenSource writerStop = new();
    private readonly CancellationTokenSource failed = new();
    private Task? writer;
    private int disposed;

    protected QueuedConnection(TransportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Failed = failed.Token;
        outbound = Channel.CreateBounded<string>(new BoundedChannelOptions(options.SendQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public TransportOptions Options { get; }

    /// <summary>Why the connection failed, when it did; later sends report it.</summary>
    protected Exception? Fault { get; private set; }

    /// <summary>Fires when the connection failed, so a pending receive ends even on streams whose disposal does not interrupt reads.</summary>
    protected CancellationToken Failed { get; }

    public async ValueTask SendAsync(string frame, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ValidateOutbound(frame);
        EnsureWriter();
        if (outbound.Writer.TryWrite(frame))
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.SendTimeout);
        try
        {
            await outbound.Writer.WriteAsync(frame, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var overflow = new IOException($"The peer read nothing for {Options.SendTimeout.TotalSeconds:0.#} s while {Options.SendQueueCapacity} frames were queued; the connection was closed.");
            FailAndAbort(overflow);
            throw overflow;
        }
        catch (ChannelClosedException ex)
        {
            throw new IOException("The connection is closed.", Fault ?? ex);
        }
    }

    public abstract ValueTask<string?> ReceiveAsync(CancellationToken cancellationToken);

    /// <summary>Stops sending once the queued frames are written; the peer then sees the end of the stream.</summary>
    public void Close()
    {
        EnsureWriter();
        outbound.Writer.TryComplete();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }

        Close();
        var drained = writer ?? Task.CompletedTask;
        if (Fault is null && await Task.WhenAny(drained, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false) != drained)
        {
            // The peer stopped reading; give up on the frames still queued.
            FailAndAbort(new IOException("The connection was disposed with frames still queued."));
        }

        await writerStop.CancelAsync().ConfigureAwait(false);
        try
        {
            await drained.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Already reported through Fault.
        }

        writerStop.Dispose();
        await DisposeTransportAsync().ConfigureAwait(false);
        failed.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Writes one frame to the underlying transport; called by one writer at a time.</summary>
    protected abstract ValueTask WriteFrameAsync(string frame, CancellationToken cancellationToken);

    /// <summary>Signals the end of output (EOF, WebSocket close) after the last frame.</summary>
    protected abstract ValueTask CompleteOutputAsync(CancellationToken cancellationToken);

    /// <summary>Tears the transport down at once, without a graceful close.</summary>
    protected abstract void Abort();

    protected abstract ValueTask DisposeTransportAsync();

    /// <summary>Rejects frames this transport cannot carry; by default every frame is fine.</summary>
    protected virtual void ValidateOutbound(string frame)
    {
    }

    protected void FailAndAbort(Exception error)
    {
        Fault ??= error;
        outbound.Writer.TryComplete(error);
        Abort();
        try
        {
            // Also ends a write stuck on a peer that reads nothing, and a receive on streams deaf to disposal.
            writerStop.Cancel();
            failed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed: nobody is receiving any more.
        }
    }

    private void EnsureWriter()
    {
        if (writer is null)
        {
            lock (outbound)
            {
                writer ??= Task.Run(WriteLoopAsync, CancellationToken.None);
            }
        }
    }

    private async Task WriteLoopAsync()
    {
        var token = writerStop.Token;
        try
        {
            await foreach (var frame in outbound.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                await WriteFrameAsync(frame, token).ConfigureAwait(false);
            }

            await CompleteOutputAsync(token).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // Failed elsewhere (FailAndAbort); nothing more to write.
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or System.Net.WebSockets.WebSocketException)
        {
            FailAndAbort(ex as IOException ?? new IOException($"Sending failed: {ex.Message}", ex));
        }
    }
}

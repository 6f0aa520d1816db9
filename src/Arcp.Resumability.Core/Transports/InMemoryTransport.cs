using System.Threading.Channels;

namespace Arcp.Resumability.Transports;

/// <summary>
/// A connected pair of in-process endpoints: the embedded default. Frames are still JSON text, so
/// the embedded runtime exercises exactly the code path a remote one does.
/// </summary>
public static class InMemoryTransport
{
    public const int DefaultCapacity = 4096;

    public static (IArcpConnection Client, IArcpConnection Server) CreatePair(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var toServer = NewChannel(capacity);
        var toClient = NewChannel(capacity);
        return (new Endpoint(toServer.Writer, toClient.Reader), new Endpoint(toClient.Writer, toServer.Reader));
    }

    // Synchronous continuations: the peer's waiting receive goes on in the sender's thread instead of being queued
    // to the thread pool. A client's command is then handled, committed and answered before its send returns, with
    // no thread woken on the way (an embedded step made three such hops before). Both ends' loops are async all the
    // way and never block, so running one on the other's thread cannot deadlock; the nesting is bounded because a
    // receive loop that handled a frame asks for the next one and, finding none, returns to the sender.
    private static Channel<string> NewChannel(int capacity) => Channel.CreateBounded<string>(new BoundedChannelOptions(capacity)
    {
        SingleReader = true,
        SingleWriter = false,
        FullMode = BoundedChannelFullMode.Wait,
        AllowSynchronousContinuations = true,
    });

    private sealed class Endpoint(ChannelWriter<string> outbound, ChannelReader<string> inbound) : IArcpConnection
    {
        public async ValueTask SendAsync(string frame, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(frame);
            try
            {
                await outbound.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException ex)
            {
                throw new IOException("The connection is closed.", ex);
            }
        }

        public async ValueTask<string?> ReceiveAsync(CancellationToken cancellationToken)
        {
            while (await inbound.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (inbound.TryRead(out var frame))
                {
                    return frame;
                }
            }

            return null;
        }

        public void Close() => outbound.TryComplete();

        public ValueTask DisposeAsync()
        {
            Close();
            return ValueTask.CompletedTask;
        }
    }
}

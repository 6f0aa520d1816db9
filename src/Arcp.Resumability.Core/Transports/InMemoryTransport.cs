using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Arcp.Resumability.Transports;

/// <summary>
/// A connected pair of in-process endpoints: the embedded default. Frames are still JSON text, so
/// the embedded runtime exercises exactly the code path a remote one does. A queue entry is one frame, or the frames
/// of one <see cref="IArcpConnection.SendAllAsync"/> (a step's progress and checkpoint), which the peer then reads
/// one after the other without waiting in between.
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
    private static Channel<object> NewChannel(int capacity) => Channel.CreateBounded<object>(new BoundedChannelOptions(capacity)
    {
        SingleReader = true,
        SingleWriter = false,
        FullMode = BoundedChannelFullMode.Wait,
        AllowSynchronousContinuations = true,
    });

    private sealed class Endpoint(ChannelWriter<object> outbound, ChannelReader<object> inbound) : IArcpConnection
    {
        // The rest of a batch being read; touched only by the one reader.
        private string[]? batch;
        private int nextInBatch;

        public ValueTask SendAsync(string frame, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(frame);
            return WriteAsync(frame, cancellationToken);
        }

        public ValueTask SendAllAsync(IReadOnlyList<string> frames, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(frames);
            var copy = frames.ToArray();
            foreach (var frame in copy)
            {
                ArgumentNullException.ThrowIfNull(frame, nameof(frames));
            }

            return copy.Length switch
            {
                0 => ValueTask.CompletedTask,
                1 => WriteAsync(copy[0], cancellationToken),
                _ => WriteAsync(copy, cancellationToken),
            };
        }

        // Pooled: each endpoint's loop awaits one receive at a time, and an embedded step receives four frames.
        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        public async ValueTask<string?> ReceiveAsync(CancellationToken cancellationToken)
        {
            if (batch is { } rest)
            {
                var frame = rest[nextInBatch++];
                if (nextInBatch == rest.Length)
                {
                    batch = null;
                }

                return frame;
            }

            while (await inbound.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (inbound.TryRead(out var item))
                {
                    if (item is string[] frames)
                    {
                        (batch, nextInBatch) = (frames, 1);
                        return frames[0];
                    }

                    return (string)item;
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

        private async ValueTask WriteAsync(object item, CancellationToken cancellationToken)
        {
            try
            {
                await outbound.WriteAsync(item, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException ex)
            {
                throw new IOException("The connection is closed.", ex);
            }
        }
    }
}

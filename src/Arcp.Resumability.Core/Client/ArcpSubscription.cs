using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Client;

/// <summary>
/// One open §13 subscription: the job events it delivers, unwrapped from their <c>subscribe.event</c>, in
/// arrival order (a backfill ends with the <see cref="MessageTypes.BackfillCompleteEvent"/> marker). The
/// buffer is bounded: a reader that falls <see cref="Capacity"/> events behind loses the subscription
/// (BACKPRESSURE_OVERFLOW) rather than the client's memory. Reading ends when the subscription is disposed
/// (which unsubscribes) or fails when the session ends.
/// </summary>
public sealed class ArcpSubscription : IAsyncDisposable
{
    /// <summary>How many undelivered events a subscription holds before it gives up.</summary>
    public const int Capacity = 1024;

    private readonly Channel<Envelope> events = Channel.CreateBounded<Envelope>(new BoundedChannelOptions(Capacity) { SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Func<ArcpSubscription, Task> unsubscribe;
    private int disposed;

    internal ArcpSubscription(string id, Func<ArcpSubscription, Task> unsubscribe)
    {
        Id = id;
        this.unsubscribe = unsubscribe;
    }

    public string Id { get; }

    /// <summary>The next event, or null once the subscription is closed; a failure (overflow, session lost) is thrown.</summary>
    public async ValueTask<Envelope?> ReadAsync(CancellationToken cancellationToken)
    {
        while (await events.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (events.Reader.TryRead(out var envelope))
            {
                return envelope;
            }
        }

        return null;
    }

    /// <summary>An event already delivered, without waiting.</summary>
    public bool TryRead(out Envelope envelope) => events.Reader.TryRead(out envelope!);

    /// <summary>Every event until the subscription closes; a failure (overflow, session lost) is thrown at the end.</summary>
    public async IAsyncEnumerable<Envelope> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var envelope in events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return envelope;
        }
    }

    /// <summary>Unsubscribes (when the session is still open) and ends reading; events not read yet are dropped.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            Close(null);
            while (events.Reader.TryRead(out _))
            {
                // Nobody will read them.
            }

            await unsubscribe(this).ConfigureAwait(false);
        }
    }

    /// <summary>Called on the client's receive loop: must not block.</summary>
    internal bool Deliver(Envelope envelope) => events.Writer.TryWrite(envelope);

    internal void Close(Exception? error) => events.Writer.TryComplete(error);
}

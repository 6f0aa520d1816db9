using System.Collections.Concurrent;

namespace Arcp.Resumability.Runtime;

/// <summary>
/// One job-stream event after its transaction committed, as it is fanned out to other sessions of the
/// same runtime. <see cref="Frame"/> is the exact stored text.
/// </summary>
internal sealed record PublishedEvent(string MessageId, string Type, string? SessionId, string JobId, string Principal, string Frame);

/// <summary>
/// In-process fan-out of committed job events between the sessions of one runtime. Delivery callbacks
/// must not block: every receiver queues into its own bounded outbox, so a slow observer never slows
/// the session that published.
/// </summary>
internal sealed class EventBus
{
    private readonly ConcurrentDictionary<long, Func<PublishedEvent, bool>> listeners = new();
    private long nextId;

    /// <summary>Registers <paramref name="deliver"/> for every later event; returning false from it removes it.</summary>
    public IDisposable Listen(Func<PublishedEvent, bool> deliver)
    {
        var id = Interlocked.Increment(ref nextId);
        listeners[id] = deliver;
        return new Registration(this, id);
    }

    public void Publish(PublishedEvent published)
    {
        foreach (var (id, deliver) in listeners)
        {
            if (!deliver(published))
            {
                listeners.TryRemove(id, out _);
            }
        }
    }

    private sealed class Registration(EventBus bus, long id) : IDisposable
    {
        public void Dispose() => bus.listeners.TryRemove(id, out _);
    }
}

using System.Collections.Concurrent;

namespace Arcp.Resumability.Runtime;

/// <summary>How much one principal may send per second: each rate refills a token bucket holding <see cref="BurstSeconds"/> of it.</summary>
public sealed record QuotaOptions
{
    /// <summary>Inbound messages per second for one principal, over all its sessions.</summary>
    public double EventsPerSecond { get; init; } = 200;

    /// <summary>Inbound frame bytes per second for one principal, over all its sessions.</summary>
    public double BytesPerSecond { get; init; } = 2 * 1024 * 1024;

    /// <summary>How many seconds' worth a principal may send at once before the rate applies.</summary>
    public double BurstSeconds { get; init; } = 10;
}

/// <summary>One token bucket per principal for events and one for bytes; a message takes from both or from neither.</summary>
internal sealed class PrincipalQuotas(QuotaOptions options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, Bucket> buckets = new(StringComparer.Ordinal);

    /// <returns>Null when admitted, else how long to wait before the same message would be.</returns>
    public TimeSpan? TryAdmit(string principal, long frameBytes)
    {
        var bucket = buckets.GetOrAdd(principal, _ => new Bucket(options, clock.GetTimestamp()));
        return bucket.TryTake(frameBytes, clock.GetTimestamp(), clock.TimestampFrequency);
    }

    private sealed class Bucket(QuotaOptions options, long createdAt)
    {
        private readonly object gate = new();
        private double events = options.EventsPerSecond * options.BurstSeconds;
        private double bytes = options.BytesPerSecond * options.BurstSeconds;
        private long refilledAt = createdAt;

        public TimeSpan? TryTake(long frameBytes, long now, long frequency)
        {
            lock (gate)
            {
                var eventCapacity = options.EventsPerSecond * options.BurstSeconds;
                var byteCapacity = options.BytesPerSecond * options.BurstSeconds;
                var elapsed = (double)(now - refilledAt) / frequency;
                refilledAt = now;
                events = Math.Min(eventCapacity, events + (elapsed * options.EventsPerSecond));
                bytes = Math.Min(byteCapacity, bytes + (elapsed * options.BytesPerSecond));

                // A frame bigger than the whole bucket costs the whole bucket, so it is admitted once the bucket is full.
                var cost = Math.Min(frameBytes, byteCapacity);
                if (events >= 1 && bytes >= cost)
                {
                    events -= 1;
                    bytes -= cost;
                    return null;
                }

                var waitEvents = events >= 1 ? 0 : (1 - events) / options.EventsPerSecond;
                var waitBytes = bytes >= cost ? 0 : (cost - bytes) / options.BytesPerSecond;
                return TimeSpan.FromSeconds(Math.Max(waitEvents, waitBytes));
            }
        }
    }
}

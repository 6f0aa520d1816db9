using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Arcp.Resumability.Runtime.Hosting;

/// <summary>How many failed authentications one remote address may have before its <c>session.open</c>s are refused unchecked.</summary>
public sealed record AuthenticationThrottleOptions
{
    /// <summary>
    /// Failed <c>session.open</c>s one address may have in a row; after that it gets one more attempt every
    /// 60 / <see cref="FailuresPerMinute"/> seconds. Successful opens cost nothing.
    /// </summary>
    public int FailuresPerMinute { get; init; } = 10;

    internal void Validate() => ArgumentOutOfRangeException.ThrowIfLessThan(FailuresPerMinute, 1, nameof(FailuresPerMinute));
}

/// <summary>
/// One token bucket per remote address (an IPv6 address counts as its /64, which one host usually holds whole).
/// A <c>session.open</c> takes a token before its credentials are checked and gives it back when it is accepted,
/// so concurrent guesses from many connections of one address are counted exactly.
/// </summary>
internal sealed class FailedAuthenticationThrottle(AuthenticationThrottleOptions options, TimeProvider clock)
{
    // Addresses whose bucket is full again are forgotten once this many are tracked, so a scan of many addresses holds little memory.
    private const int PruneAbove = 1024;
    private readonly ConcurrentDictionary<IPAddress, Bucket> buckets = new();

    /// <returns>Null when the attempt may be checked, else how long the address must wait before its next one is.</returns>
    public TimeSpan? TryBeginAttempt(IPAddress address)
    {
        var now = clock.GetUtcNow().UtcTicks;
        if (buckets.Count > PruneAbove)
        {
            Prune(now);
        }

        return buckets.GetOrAdd(Key(address), _ => new Bucket(options.FailuresPerMinute, now)).TryTake(now);
    }

    /// <summary>The attempt begun by <see cref="TryBeginAttempt"/> authenticated: it does not count as a failure.</summary>
    public void Succeeded(IPAddress address)
    {
        if (buckets.TryGetValue(Key(address), out var bucket))
        {
            bucket.Refund();
        }
    }

    private static IPAddress Key(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    private void Prune(long now)
    {
        foreach (var (address, bucket) in buckets)
        {
            if (bucket.IsFull(now))
            {
                buckets.TryRemove(KeyValuePair.Create(address, bucket));
            }
        }
    }

    private sealed class Bucket(int perMinute, long createdAt)
    {
        private readonly object gate = new();
        private double tokens = perMinute;
        private long refilledAt = createdAt;

        public TimeSpan? TryTake(long now)
        {
            lock (gate)
            {
                Refill(now);
                if (tokens >= 1)
                {
                    tokens -= 1;
                    return null;
                }

                return TimeSpan.FromMinutes((1 - tokens) / perMinute);
            }
        }

        public void Refund()
        {
            lock (gate)
            {
                tokens = Math.Min(perMinute, tokens + 1);
            }
        }

        public bool IsFull(long now)
        {
            lock (gate)
            {
                Refill(now);
                return tokens >= perMinute;
            }
        }

        /// <param name="now">UTC ticks; a clock set back refills nothing rather than taking tokens away.</param>
        private void Refill(long now)
        {
            var elapsedMinutes = Math.Max(0, now - refilledAt) / (double)TimeSpan.TicksPerMinute;
            refilledAt = Math.Max(refilledAt, now);
            tokens = Math.Min(perMinute, tokens + (elapsedMinutes * perMinute));
        }
    }
}

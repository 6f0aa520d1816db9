using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Runtime.Hosting;

/// <summary>Applies a retention policy to a runtime's store at a fixed interval while the runtime is hosted.</summary>
public static class RetentionSchedule
{
    /// <summary>
    /// Runs one retention pass at once and then every <paramref name="interval"/> until cancelled. A pass that
    /// fails (the store is briefly unavailable, say) is reported and the schedule goes on: retention is
    /// housekeeping and must never take the runtime down.
    /// </summary>
    public static async Task RunAsync(JobService jobs, RetentionPolicy policy, TimeSpan interval, TimeProvider clock, Action<RetentionResult> onPass, Action<Exception> onFailure, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(onPass);
        ArgumentNullException.ThrowIfNull(onFailure);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        using var timer = new PeriodicTimer(interval, clock);
        try
        {
            do
            {
                try
                {
                    var pass = await jobs.ApplyRetentionAsync(policy, clock.GetUtcNow(), apply: true, cancellationToken).ConfigureAwait(false);
                    // The cheap kind only (incremental vacuum): a full compaction would stall the sessions being served.
                    await jobs.ReclaimSpaceAsync(compact: false, cancellationToken).ConfigureAwait(false);
                    onPass(pass);
                }
                catch (Exception ex) when (ex is StoreException or ArcpException)
                {
                    onFailure(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }
}

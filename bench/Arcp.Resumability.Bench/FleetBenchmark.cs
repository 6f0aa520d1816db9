using System.Diagnostics;
using System.Text.Json.Nodes;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Bench;

/// <summary>Seconds per round of each fleet shape on one store; throughput is the round's jobs over its seconds.</summary>
internal sealed record FleetFigures(string Store, int JobsPerRound, Summary OneWorker, Summary FourWorkers, Summary BareOne, Summary BareFour);

/// <summary>
/// The fleet part (issue 11): 5-step no-op jobs queued on one store, then drained by 1 and by 4 workers of
/// <see cref="Concurrency"/> slots each, the way <c>Start-ArcpWorker -ExitWhenIdle</c> drains a queue: a free slot
/// claims the next job (<see cref="QueuedJobs.ClaimNextAsync"/>) and resumes it through <see cref="StepRunner"/> on a
/// session of its own. Enqueueing is not timed. Each round also drains the same jobs as bare transactions
/// (<see cref="BareFleet"/>) with as many connections as the fleet has slots, interleaved so load swings hit both.
/// </summary>
internal static class FleetBenchmark
{
    public const int StepsPerJob = 5;
    public const int Concurrency = 4;

    private static readonly WorkflowDefinition Workflow = new(
        "bench-fleet",
        Enumerable.Range(1, StepsPerJob).Select(i => new StepDefinition($"step{i}", (_, _) => ValueTask.FromResult<JsonNode?>(new JsonObject { ["status"] = "ok" }))).ToList());

    public static async Task<FleetFigures> RunAsync(string label, string storeSpec, BareFleet.Kind bareKind, string bareSpec, BenchOptions options, CancellationToken cancellationToken)
    {
        await using var producerStore = await StoreFactory.OpenAsync(storeSpec, StoreOpenMode.CreateIfMissing, cancellationToken);
        var producer = new QueuedJobs(new JobService(producerStore, new JobServiceOptions()));
        await using var one = await Fleet.OpenAsync(storeSpec, "fleet-1", workers: 1, cancellationToken);
        await using var four = await Fleet.OpenAsync(storeSpec, "fleet-4", workers: 4, cancellationToken);
        await using var bare = await BareFleet.OpenAsync(bareKind, bareSpec, StepsPerJob, cancellationToken);
        var samples = new[] { new List<double>(), new List<double>(), new List<double>(), new List<double>() };

        // Round 0 is unmeasured: JIT, connection pools and the file cache.
        for (var round = 0; round <= options.FleetRounds; round++)
        {
            var jobs = round == 0 ? Math.Min(options.FleetJobs, 2 * Concurrency * 4) : options.FleetJobs;
            var seconds = new[]
            {
                await one.DrainAsync(producer, jobs, cancellationToken),
                await bare.DrainAsync(jobs, Concurrency, cancellationToken),
                await four.DrainAsync(producer, jobs, cancellationToken),
                await bare.DrainAsync(jobs, 4 * Concurrency, cancellationToken),
            };
            if (round > 0)
            {
                for (var i = 0; i < seconds.Length; i++)
                {
                    samples[i].Add(seconds[i]);
                }
            }
        }

        return new FleetFigures(label, options.FleetJobs, Summary.Of(samples[0]), Summary.Of(samples[2]), Summary.Of(samples[1]), Summary.Of(samples[3]));
    }

    /// <summary>Workers on one queue; each worker claims through a store of its own and runs each slot on an embedded session of its own.</summary>
    private sealed class Fleet(string queue, IReadOnlyList<(string Id, IArcpStore Store, QueuedJobs Claims, EmbeddedArcp[] Slots)> workers) : IAsyncDisposable
    {
        private readonly WorkFilter filter = new(RuntimeOptions.LocalPrincipal, [queue], null);

        public static async Task<Fleet> OpenAsync(string storeSpec, string queue, int workers, CancellationToken cancellationToken)
        {
            var opened = new List<(string, IArcpStore, QueuedJobs, EmbeddedArcp[])>();
            var fleet = new Fleet(queue, opened);
            try
            {
                for (var w = 0; w < workers; w++)
                {
                    var store = await StoreFactory.OpenAsync(storeSpec, StoreOpenMode.MustExist, cancellationToken);
                    var slots = new EmbeddedArcp[Concurrency];
                    opened.Add((QueuedJobs.NewClaimerId(), store, new QueuedJobs(new JobService(store, new JobServiceOptions())), slots));
                    for (var s = 0; s < Concurrency; s++)
                    {
                        slots[s] = await EmbeddedArcp.OpenAsync(storeSpec, StoreOpenMode.MustExist, null, cancellationToken);
                    }
                }

                return fleet;
            }
            catch
            {
                await fleet.DisposeAsync();
                throw;
            }
        }

        /// <summary>Queues <paramref name="jobs"/> jobs (untimed), then returns the seconds the fleet takes to finish them all.</summary>
        public async Task<double> DrainAsync(QueuedJobs producer, int jobs, CancellationToken cancellationToken)
        {
            for (var i = 0; i < jobs; i++)
            {
                var start = new JobStart(ArcpId.NewJobId(), RuntimeOptions.LocalPrincipal, Workflow.Name, null, "{}", null, ArcpId.NewMessageId());
                await producer.EnqueueAsync(start, queue, 0, cancellationToken);
            }

            var started = Stopwatch.GetTimestamp();
            var completed = await Task.WhenAll(workers.SelectMany(w => w.Slots.Select(slot => RunSlotAsync(w.Id, w.Claims, slot, cancellationToken))));
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            return completed.Sum() == jobs
                ? seconds
                : throw new InvalidOperationException($"The fleet on queue '{queue}' finished {completed.Sum()} of {jobs} queued jobs.");
        }

        private async Task<int> RunSlotAsync(string workerId, QueuedJobs claims, EmbeddedArcp slot, CancellationToken cancellationToken)
        {
            var runner = new StepRunner(slot.Client);
            var completed = 0;
            while (await claims.ClaimNextAsync(workerId, filter, cancellationToken) is { } job)
            {
                var result = await runner.ResumeAsync(Workflow, job.JobId, null, null, null, cancellationToken);
                if (result.State != JobStates.Completed)
                {
                    throw new InvalidOperationException($"Fleet job {job.JobId} ended '{result.State}': {result.Error?.Message}");
                }

                completed++;
            }

            return completed;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var (_, store, _, slots) in workers)
            {
                foreach (var slot in slots.OfType<EmbeddedArcp>())
                {
                    await slot.DisposeAsync();
                }

                await store.DisposeAsync();
            }
        }
    }
}

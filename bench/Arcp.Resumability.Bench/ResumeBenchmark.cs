using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.Bench;

/// <summary>
/// Times a resume of jobs with short and long histories: from <c>StepRunner.ResumeAsync</c> to the moment the first
/// step after the last checkpoint starts. That step then stops the run, so the job stays resumable and the same job
/// is resumed again for the next sample; the sizes are resumed in turn, so load swings hit all of them.
/// </summary>
internal sealed class ResumeBenchmark : IAsyncDisposable
{
    /// <summary>About 1 KB of JSON, the step output of the resume figures.</summary>
    private static readonly JsonObject Output = new()
    {
        ["status"] = "ok",
        ["text"] = new string('x', 960),
    };

    private readonly EmbeddedArcp arcp;
    private readonly StepRunner runner;
    private readonly List<(int Recorded, WorkflowDefinition Workflow, string JobId)> jobs = [];
    private CancellationTokenSource? stopping;
    private long reachedAt;

    private ResumeBenchmark(EmbeddedArcp arcp)
    {
        this.arcp = arcp;
        runner = new StepRunner(arcp.Client);
    }

    /// <summary>Records one job per size in <paramref name="sizes"/>, each stopped after that many checkpoints.</summary>
    public static async Task<ResumeBenchmark> OpenAsync(string folder, IReadOnlyList<int> sizes, CancellationToken cancellationToken)
    {
        var benchmark = new ResumeBenchmark(await EmbeddedArcp.OpenAsync(Path.Combine(folder, "resume.db"), null, cancellationToken));
        try
        {
            foreach (var size in sizes)
            {
                var workflow = benchmark.Workflow(size);
                using var stop = benchmark.Arm(cancellationToken);
                string? jobId = null;
                try
                {
                    await benchmark.runner.StartAsync(workflow, null, $"resume-{size}", null, new JobIdObserver(id => jobId = id), stop.Token);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    // The last step stopped the run: the job is resumable after its recorded steps.
                }

                benchmark.jobs.Add((size, workflow, jobId ?? throw new InvalidOperationException($"The {size}-step job recorded no checkpoint.")));
            }

            return benchmark;
        }
        catch
        {
            await benchmark.DisposeAsync();
            throw;
        }
    }

    /// <summary>One resume of each job, in turn; the milliseconds per recorded size.</summary>
    public async Task<IReadOnlyList<(int Recorded, double Milliseconds)>> MeasureRoundAsync(CancellationToken cancellationToken)
    {
        var round = new List<(int, double)>();
        foreach (var (recorded, workflow, jobId) in jobs)
        {
            using var stop = Arm(cancellationToken);
            var started = Stopwatch.GetTimestamp();
            try
            {
                await runner.ResumeAsync(workflow, jobId, null, null, null, stop.Token);
                throw new InvalidOperationException($"The resumed {recorded}-step job ran to its end instead of stopping at its last step.");
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                round.Add((recorded, Stopwatch.GetElapsedTime(started, reachedAt).TotalMilliseconds));
            }
        }

        return round;
    }

    public ValueTask DisposeAsync() => arcp.DisposeAsync();

    private CancellationTokenSource Arm(CancellationToken cancellationToken)
    {
        stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        return stopping;
    }

    /// <summary><paramref name="recorded"/> no-op steps, then one that notes the time and stops the run.</summary>
    private WorkflowDefinition Workflow(int recorded) =>
        new(
            $"bench-resume-{recorded.ToString(CultureInfo.InvariantCulture)}",
            [
                .. Enumerable.Range(1, recorded).Select(i => new StepDefinition($"s{i.ToString(CultureInfo.InvariantCulture)}", (_, _) => ValueTask.FromResult<JsonNode?>(Output.DeepClone()))),
                new StepDefinition("stop", async (_, cancellationToken) =>
                {
                    reachedAt = Stopwatch.GetTimestamp();
                    await stopping!.CancelAsync();
                    cancellationToken.ThrowIfCancellationRequested();
                    return null;
                }),
            ]);

    /// <summary>Learns the job id from the first checkpoint.</summary>
    private sealed class JobIdObserver(Action<string> seen) : IStepObserver
    {
        public ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask StepReusedAsync(StepContext context, Protocol.CheckpointSummary recorded, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask CheckpointRecordedAsync(StepContext context, Protocol.CheckpointSummary checkpoint, CancellationToken cancellationToken)
        {
            seen(context.JobId);
            return ValueTask.CompletedTask;
        }
    }
}

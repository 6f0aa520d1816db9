using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Bench;

/// <summary>
/// What one step of a measured job persisted, read back from the store: the two envelopes as the <c>events</c> table
/// holds them (the checkpoint's without its output, which <paramref name="OutputAt"/> marks), the acks logged for them,
/// and the <c>checkpoints</c> row's output.
/// </summary>
internal sealed record StepBytes(string ProgressEnvelope, string CheckpointEnvelope, long OutputAt, long AckBytes, string Output)
{
    public int EnvelopeBytes => Utf8(ProgressEnvelope) + Utf8(CheckpointEnvelope);

    public int OutputBytes => Utf8(Output);

    public static int Utf8(string text) => System.Text.Encoding.UTF8.GetByteCount(text);
}

/// <summary>How much warm-up ran, and whether it ended because the JIT went quiet (rather than at the time limit).</summary>
internal sealed record WarmupFigures(int Steps, double Seconds, bool JitQuiet);

internal sealed record MemoryFigures(long PeakWorkingSet, long GcHeapSize, long LiveManaged);

/// <summary>One job: its step intervals (all steps but the first); its wall time, CPU time, allocations and JIT-compiled methods as a whole.</summary>
internal sealed record JobRun(IReadOnlyList<double> StepIntervals, int Steps, double Milliseconds, double ProcessorMilliseconds, long AllocatedBytes, long JitCompiledMethods, int Gen0Collections, int Gen2Collections);

/// <summary>
/// Runs jobs of no-op steps through the embedded stack (StepRunner, in-memory transport, runtime, SQLite
/// store) and times each step from the previous step's durable checkpoint to its own, so job start and
/// completion never land in a per-step figure.
/// </summary>
internal sealed class StepBenchmark : IAsyncDisposable
{
    /// <summary>What every step returns: a constant object of about 200 bytes of JSON.</summary>
    private static readonly JsonObject Output = new()
    {
        ["status"] = "ok",
        ["source"] = "https://example.org/reports/quarterly/2024-q4.json",
        ["items"] = new JsonArray(1, 2, 3, 5, 8, 13, 21, 34),
        ["summary"] = "A constant step output, sized like a small real result record.",
        ["score"] = 0.875,
    };

    /// <summary>A job counts as quiet when the JIT compiled at most this many methods while it ran.</summary>
    private const int QuietJobMethods = 2;

    /// <summary>Warm-up ends after this many quiet jobs in a row (the usage text quotes these three limits).</summary>
    private const int QuietJobsNeeded = 5;

    private static readonly TimeSpan WarmupLimit = TimeSpan.FromSeconds(40);

    private readonly EmbeddedArcp arcp;
    private readonly StepRunner runner;
    private readonly WorkflowDefinition workflow;
    private readonly CheckpointClock clock;
    private string? lastJobId;

    public WarmupFigures Warmup { get; private set; } = new(0, 0, false);

    private StepBenchmark(EmbeddedArcp arcp, int stepsPerJob)
    {
        this.arcp = arcp;
        runner = new StepRunner(arcp.Client);
        clock = new CheckpointClock(stepsPerJob);
        workflow = new WorkflowDefinition(
            "bench-noop",
            Enumerable.Range(1, stepsPerJob)
                .Select(i => new StepDefinition($"step{i.ToString("D3", CultureInfo.InvariantCulture)}", (_, _) => ValueTask.FromResult<JsonNode?>(Output.DeepClone())))
                .ToList());
    }

    /// <summary>
    /// Opens the store <paramref name="storeSpec"/> (a SQLite file or a PostgreSQL connection string) and runs at least <paramref name="minimumWarmupSteps"/> unmeasured
    /// steps, then more until the JIT is quiet (or <see cref="WarmupLimit"/> passes).
    /// </summary>
    public static async Task<StepBenchmark> OpenAsync(string storeSpec, int stepsPerJob, int minimumWarmupSteps, CancellationToken cancellationToken)
    {
        var arcp = await EmbeddedArcp.OpenAsync(storeSpec, null, cancellationToken);
        var benchmark = new StepBenchmark(arcp, stepsPerJob);
        try
        {
            // Tiered compilation recompiles hot methods for thousands of steps, and the once-per-job ones only after
            // dozens of jobs, on a background thread that competes for the cores: on the reference machine it took
            // about 100 jobs under load. Measuring earlier would time tier-0 code plus the compiler.
            var started = Stopwatch.GetTimestamp();
            var quietJobs = 0;
            var steps = 0;
            while (steps < minimumWarmupSteps || (quietJobs < QuietJobsNeeded && Stopwatch.GetElapsedTime(started) < WarmupLimit))
            {
                var compiled = JitInfo.GetCompiledMethodCount();
                await benchmark.RunJobAsync(null, cancellationToken);
                steps += stepsPerJob;
                quietJobs = JitInfo.GetCompiledMethodCount() - compiled <= QuietJobMethods ? quietJobs + 1 : 0;
            }

            benchmark.Warmup = new WarmupFigures(steps, Stopwatch.GetElapsedTime(started).TotalSeconds, quietJobs >= QuietJobsNeeded);
            return benchmark;
        }
        catch
        {
            await benchmark.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Runs one job. <paramref name="betweenSteps"/>, if given, runs after each checkpoint but the last, outside
    /// the step intervals; the job's wall time, CPU time and allocations do include it.
    /// </summary>
    public async Task<JobRun> RunJobAsync(Action? betweenSteps, CancellationToken cancellationToken)
    {
        using var process = Process.GetCurrentProcess();
        var processorBefore = process.TotalProcessorTime;
        var compiledBefore = JitInfo.GetCompiledMethodCount();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var (gen0Before, gen2Before) = (GC.CollectionCount(0), GC.CollectionCount(2));
        var started = Stopwatch.GetTimestamp();
        clock.Start(betweenSteps);
        var result = await runner.StartAsync(workflow, null, null, null, clock, cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var compiled = JitInfo.GetCompiledMethodCount() - compiledBefore;
        process.Refresh();
        if (result.State != "completed")
        {
            throw new InvalidOperationException($"Benchmark job {result.JobId} ended '{result.State}': {result.Error?.Message}");
        }

        lastJobId = result.JobId;
        return new JobRun(
            clock.StepIntervals(),
            workflow.Steps.Count,
            elapsed.TotalMilliseconds,
            (process.TotalProcessorTime - processorBefore).TotalMilliseconds,
            allocated,
            compiled,
            GC.CollectionCount(0) - gen0Before,
            GC.CollectionCount(2) - gen2Before);
    }

    /// <summary>Reads back the progress and checkpoint envelopes the middle step of the last job wrote, and the acks logged for them.</summary>
    public StepBytes ReadStepBytes()
    {
        var jobId = lastJobId ?? throw new InvalidOperationException("No job has run yet.");
        var stepIndex = workflow.Steps.Count / 2;

        // A second connection may read while the store's own one stays open: WAL readers do not block the writer.
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = arcp.StoreLocation, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT e.type, e.envelope, e.output_at, (SELECT SUM(LENGTH(CAST(a.envelope AS BLOB))) FROM events a WHERE a.correlation_id = e.message_id AND a.direction = 'out') " +
            "FROM events e WHERE e.job_id = $job AND e.direction = 'in' AND e.type IN ('job.progress', 'job.checkpoint') ORDER BY e.sequence;";
        command.Parameters.AddWithValue("$job", jobId);
        var rows = new List<(string Type, string Envelope, long OutputAt, long AckBytes)>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                rows.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? 0 : reader.GetInt64(2), reader.IsDBNull(3) ? 0 : reader.GetInt64(3)));
            }
        }

        // The job's stream holds a progress then a checkpoint for each step, in step order.
        if (rows.Count <= (2 * stepIndex) + 1 || rows[2 * stepIndex].Type != "job.progress" || rows[(2 * stepIndex) + 1].Type != "job.checkpoint")
        {
            throw new InvalidOperationException($"Job {jobId} does not have a progress and a checkpoint event for step {stepIndex} in its stream.");
        }

        using var output = connection.CreateCommand();
        output.CommandText = "SELECT output FROM checkpoints WHERE job_id = $job AND step_index = $index;";
        output.Parameters.AddWithValue("$job", jobId);
        output.Parameters.AddWithValue("$index", stepIndex);
        var outputText = (string?)output.ExecuteScalar() ?? throw new InvalidOperationException($"Job {jobId} has no checkpoint for step {stepIndex}.");

        var progress = rows[2 * stepIndex];
        var checkpoint = rows[(2 * stepIndex) + 1];
        return new StepBytes(progress.Envelope, checkpoint.Envelope, checkpoint.OutputAt, progress.AckBytes + checkpoint.AckBytes, outputText);
    }

    public static MemoryFigures CaptureMemory()
    {
        using var process = Process.GetCurrentProcess();
        var heapSize = GC.GetGCMemoryInfo().HeapSizeBytes;
        var live = GC.GetTotalMemory(forceFullCollection: true);
        return new MemoryFigures(process.PeakWorkingSet64, heapSize, live);
    }

    public ValueTask DisposeAsync() => arcp.DisposeAsync();

    /// <summary>
    /// Timestamps the steps: a step runs from the moment the previous step's checkpoint callback returns
    /// until its own checkpoint is durable and reported, which is everything the runner does for it.
    /// </summary>
    private sealed class CheckpointClock(int stepsPerJob) : IStepObserver
    {
        private readonly long[] starts = new long[stepsPerJob];
        private readonly long[] ends = new long[stepsPerJob];
        private Action? betweenSteps;

        public void Start(Action? between)
        {
            betweenSteps = between;
            Array.Clear(starts);
            Array.Clear(ends);
        }

        /// <summary>Every step but the first, whose interval would include the job's start.</summary>
        public double[] StepIntervals()
        {
            var intervals = new double[stepsPerJob - 1];
            for (var i = 1; i < stepsPerJob; i++)
            {
                intervals[i - 1] = Stopwatch.GetElapsedTime(starts[i], ends[i]).TotalMilliseconds;
            }

            return intervals;
        }

        public ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask StepReusedAsync(StepContext context, CheckpointSummary recorded, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("A fresh benchmark job never reuses a step.");

        public ValueTask CheckpointRecordedAsync(StepContext context, CheckpointSummary checkpoint, CancellationToken cancellationToken)
        {
            ends[context.StepIndex] = Stopwatch.GetTimestamp();
            if (context.StepIndex + 1 < stepsPerJob)
            {
                betweenSteps?.Invoke();
                starts[context.StepIndex + 1] = Stopwatch.GetTimestamp();
            }

            return ValueTask.CompletedTask;
        }
    }
}

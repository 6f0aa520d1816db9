using System.Diagnostics;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.Bench;

/// <summary>The process after <see cref="Steps"/> steps of one job: resident set, and managed memory live after a full GC.</summary>
internal sealed record MemoryPoint(int Steps, long WorkingSet, long LiveManaged);

/// <summary>
/// Memory that should not grow with job length (issue 12): one job on the embedded SQLite store whose single no-op
/// step loops (its transition picks itself again until a counter in its output reaches the length), measured after
/// the shorter and after the longer count of checkpointed steps, from inside the job's checkpoint callback.
/// </summary>
internal static class MemoryGrowthBenchmark
{
    public static async Task<(MemoryPoint Short, MemoryPoint Long)> RunAsync(string storePath, int shortSteps, int longSteps, CancellationToken cancellationToken)
    {
        if (shortSteps >= longSteps)
        {
            throw new ArgumentException($"The shorter count ({shortSteps}) must be below the longer ({longSteps}).", nameof(shortSteps));
        }

        var workflow = new WorkflowDefinition(
            "bench-memory",
            [
                new StepDefinition("tick", (context, _) => ValueTask.FromResult<JsonNode?>(new JsonObject { ["n"] = Count(context.Input) + 1 }))
                {
                    Next = (_, output, _) => ValueTask.FromResult(Count(output) < longSteps ? "tick" : null),
                },
            ]);
        await using var arcp = await EmbeddedArcp.OpenAsync(storePath, null, cancellationToken);
        var sampler = new Sampler(shortSteps, longSteps);
        var result = await new StepRunner(arcp.Client).StartAsync(workflow, new JsonObject { ["n"] = 0 }, null, null, sampler, cancellationToken);
        if (result.State != "completed")
        {
            throw new InvalidOperationException($"Memory benchmark job {result.JobId} ended '{result.State}': {result.Error?.Message}");
        }

        return (sampler.Short ?? throw new InvalidOperationException("No sample at the shorter count."), sampler.Long ?? throw new InvalidOperationException("No sample at the longer count."));
    }

    private static int Count(JsonNode? output) => output?["n"]?.GetValue<int>() ?? 0;

    private sealed class Sampler(int shortSteps, int longSteps) : IStepObserver
    {
        private int checkpoints;

        public MemoryPoint? Short { get; private set; }

        public MemoryPoint? Long { get; private set; }

        public ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask StepReusedAsync(StepContext context, CheckpointSummary recorded, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("A fresh benchmark job never reuses a step.");

        public ValueTask CheckpointRecordedAsync(StepContext context, CheckpointSummary checkpoint, CancellationToken cancellationToken)
        {
            checkpoints++;
            if (checkpoints == shortSteps)
            {
                Short = Capture(checkpoints);
            }
            else if (checkpoints == longSteps)
            {
                Long = Capture(checkpoints);
            }

            return ValueTask.CompletedTask;
        }

        private static MemoryPoint Capture(int steps)
        {
            var live = GC.GetTotalMemory(forceFullCollection: true);
            using var process = Process.GetCurrentProcess();
            return new MemoryPoint(steps, process.WorkingSet64, live);
        }
    }
}

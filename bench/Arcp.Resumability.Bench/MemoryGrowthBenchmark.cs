using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.Bench;

/// <summary>
/// Memory that should not grow with job length (issue 12): one job on the embedded SQLite store whose single no-op
/// step loops (its transition picks itself again until a counter in its output reaches the length), measured after
/// each of the given counts of checkpointed steps, from inside the job's checkpoint callback. The issue's pair is the
/// first and the last count; a count between them shows whether the process still grew once it had warmed up.
/// </summary>
internal static class MemoryGrowthBenchmark
{
    public static async Task<IReadOnlyList<MemoryPoint>> RunAsync(string storePath, IReadOnlyList<int> counts, CancellationToken cancellationToken)
    {
        if (counts.Count < 2 || counts.Zip(counts.Skip(1)).Any(pair => pair.First >= pair.Second))
        {
            throw new ArgumentException($"The step counts ({string.Join(", ", counts)}) must be at least two, each below the next.", nameof(counts));
        }

        var longest = counts[^1];
        var workflow = new WorkflowDefinition(
            "bench-memory",
            [
                new StepDefinition("tick", (context, _) => ValueTask.FromResult<JsonNode?>(new JsonObject { ["n"] = Count(context.Input) + 1 }))
                {
                    Next = (_, output, _) => ValueTask.FromResult(Count(output) < longest ? "tick" : null),
                },
            ]);
        var fullPath = Path.GetFullPath(storePath);
        await using var arcp = await EmbeddedArcp.OpenAsync(fullPath, null, cancellationToken);
        var sampler = new Sampler(counts, fullPath);
        var result = await new StepRunner(arcp.Client).StartAsync(workflow, new JsonObject { ["n"] = 0 }, null, null, sampler, cancellationToken);
        if (result.State != "completed")
        {
            throw new InvalidOperationException($"Memory benchmark job {result.JobId} ended '{result.State}': {result.Error?.Message}");
        }

        return sampler.Points.Count == counts.Count
            ? sampler.Points
            : throw new InvalidOperationException($"Sampled {sampler.Points.Count} of {counts.Count} points.");
    }

    private static int Count(JsonNode? output) => output?["n"]?.GetValue<int>() ?? 0;

    private sealed class Sampler(IReadOnlyList<int> counts, string storePath) : IStepObserver
    {
        private int checkpoints;

        public List<MemoryPoint> Points { get; } = [];

        public ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask StepReusedAsync(StepContext context, CheckpointSummary recorded, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("A fresh benchmark job never reuses a step.");

        public ValueTask CheckpointRecordedAsync(StepContext context, CheckpointSummary checkpoint, CancellationToken cancellationToken)
        {
            checkpoints++;
            if (Points.Count < counts.Count && checkpoints == counts[Points.Count])
            {
                Points.Add(MemoryPoint.Capture(checkpoints, storePath));
            }

            return ValueTask.CompletedTask;
        }
    }
}

using System.Text.Json.Nodes;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.Tests.Core;

/// <summary>A checkpoint reads the same wherever it is seen: as the step runner reports it (-OnCheckpoint) and as queried (Get-ArcpCheckpoint).</summary>
public sealed class CheckpointSummaryTests : IDisposable
{
    // Far from the test machine's clock, so a summary stamped with the client's own clock cannot pass for the stored one.
    private static readonly DateTimeOffset RuntimeTime = new(2021, 3, 4, 5, 6, 7, TimeSpan.Zero);
    private readonly TestStore store = new();

    [Fact]
    public async Task A_reported_checkpoint_equals_the_stored_one_including_its_creation_time()
    {
        var workflow = new CountingWorkflow("plan", "gather");
        var reported = new RecordingObserver();
        await using var arcp = await EmbeddedArcp.OpenAsync(store.Path, new RuntimeOptions { Clock = new FixedClock(RuntimeTime) }, CancellationToken.None);

        var result = await new StepRunner(arcp.Client).StartAsync(workflow.Definition, JsonValue.Create("in"), null, null, reported, CancellationToken.None);

        var stored = await arcp.Client.QueryCheckpointsAsync(result.JobId, null, CancellationToken.None);
        Assert.Equal(2, reported.Checkpoints.Count);
        Assert.Equal(stored.Select(Comparable), reported.Checkpoints.Select(Comparable));
        Assert.All(reported.Checkpoints, c => Assert.Equal(ArcpJson.FormatTimestamp(RuntimeTime), c.CreatedAt));
    }

    private static string Comparable(CheckpointSummary summary) =>
        ArcpJson.Serialize(summary with { Output = null }) + ArcpJson.ToText(summary.Output);

    public void Dispose() => store.Dispose();

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private sealed class RecordingObserver : IStepObserver
    {
        public List<CheckpointSummary> Checkpoints { get; } = [];

        public ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask StepReusedAsync(StepContext context, CheckpointSummary recorded, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask CheckpointRecordedAsync(StepContext context, CheckpointSummary checkpoint, CancellationToken cancellationToken)
        {
            Checkpoints.Add(checkpoint);
            return ValueTask.CompletedTask;
        }
    }
}

using System.Text.Json.Nodes;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Tests.Store;

/// <summary>
/// Issue 15, fault injection on PostgreSQL: the server is stopped with an immediate shutdown (a crash: every
/// connection cut, no shutdown checkpoint) in the middle of a job, then started again. The job stops with a structured
/// UNAVAILABLE, nothing recorded before is lost, and the job finishes after the restart. The cluster is this class's
/// own, so stopping it disturbs no other test.
/// </summary>
[Collection(PostgresTests.Name)]
public sealed class PostgresFaultInjectionTests : IAsyncLifetime
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(60);
    private readonly PostgresServer server = new(ownCluster: true);
    private string store = string.Empty;

    public async Task InitializeAsync()
    {
        await server.InitializeAsync();
        store = await server.CreateSchemaAsync();
    }

    public Task DisposeAsync() => server.DisposeAsync();

    [Fact]
    public async Task A_server_stopped_with_an_immediate_shutdown_mid_job_fails_it_with_UNAVAILABLE_loses_nothing_and_the_job_finishes_after_the_restart()
    {
        using var bounded = new CancellationTokenSource(Bounded);
        var runs = new List<string>();
        var workflow = new WorkflowDefinition(
            "outage",
            [
                new StepDefinition("before", (_, _) => Run(runs, "before")),
                new StepDefinition("during", async (_, _) =>
                {
                    if (!runs.Contains("during"))
                    {
                        await server.StopImmediatelyAsync();
                    }

                    return await Run(runs, "during");
                }),
                new StepDefinition("after", (_, _) => Run(runs, "after")),
            ]);

        var arcp = await EmbeddedArcp.OpenAsync(store, null, bounded.Token);
        var observer = new JobIdObserver();
        var refused = await Assert.ThrowsAsync<ArcpException>(() => new StepRunner(arcp.Client).StartAsync(workflow, JsonValue.Create(7), "outage", null, observer, bounded.Token));
        await arcp.DisposeAsync().AsTask().WaitAsync(bounded.Token);

        Assert.Equal(ErrorCodes.Unavailable, refused.Code);
        Assert.True(refused.Error.IsRetryable);
        Assert.Contains("The store 'postgresql://", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", refused.Message, StringComparison.Ordinal);
        Assert.Equal(["before", "during"], runs);

        // While the server is down, opening the store is refused the same way.
        var down = await Assert.ThrowsAsync<StoreException>(() => StoreFactory.OpenAsync(store, bounded.Token));
        Assert.Equal(ErrorCodes.Unavailable, down.ToArcpError().Code);

        await server.StartAgainAsync();
        var jobId = Assert.IsType<string>(observer.JobId);
        await using (var restarted = await StoreFactory.OpenAsync(store, bounded.Token))
        {
            Assert.Equal(["before"], (await restarted.ListCheckpointsAsync(jobId, bounded.Token)).Select(c => c.Step));
        }

        await using var again = await EmbeddedArcp.OpenAsync(store, null, bounded.Token);
        var resumed = await new StepRunner(again.Client).ResumeAsync(workflow, jobId, null, null, null, bounded.Token);

        Assert.Equal("completed", resumed.State);
        Assert.Equal(["during", "after"], resumed.StepsRun);
        Assert.Equal(["before", "during", "during", "after"], runs);
        await using var final = await StoreFactory.OpenAsync(store, bounded.Token);
        Assert.Equal(["before", "during", "after"], (await final.ListCheckpointsAsync(jobId, bounded.Token)).Select(c => c.Step));
        Assert.Null((await final.GetJobAsync(jobId, bounded.Token))!.Lease);
    }

    private static ValueTask<JsonNode?> Run(List<string> runs, string step)
    {
        runs.Add(step);
        return ValueTask.FromResult<JsonNode?>(JsonValue.Create(step));
    }
}

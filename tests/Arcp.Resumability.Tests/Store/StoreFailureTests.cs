using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store;
using Arcp.Resumability.Tests.Core;

namespace Arcp.Resumability.Tests.Store;

public sealed class StoreFailureTests : IDisposable
{
    private readonly TestStore files = new();

    [Fact]
    public async Task A_store_failing_mid_session_is_reported_as_UNAVAILABLE_naming_the_store_and_the_session_ends()
    {
        var store = new FailingStore(await StoreFactory.OpenAsync(files.Path, default));
        var arcp = await EmbeddedArcp.OpenAsync(store, null, default);
        var workflow = new CountingWorkflow("counting", "one", "two");
        var started = await new StepRunner(arcp.Client).StartAsync(workflow.Definition, JsonValue.Create(1), null, null, null, default);

        store.Fail = true;
        var refused = await Assert.ThrowsAsync<ArcpException>(() => arcp.Client.StartWorkflowAsync("counting", null, null, null, default));
        await arcp.DisposeAsync();

        Assert.Equal("completed", started.State);
        Assert.Equal(ErrorCodes.Unavailable, refused.Code);
        Assert.Contains(files.Path, refused.Message, StringComparison.Ordinal);
        Assert.Contains("connection refused", refused.Message, StringComparison.Ordinal);
    }

    public void Dispose() => files.Dispose();

    /// <summary>Delegates to a real store until told to fail, then fails every write like an unreachable server.</summary>
    private sealed class FailingStore(IArcpStore inner) : IArcpStore
    {
        public bool Fail { get; set; }

        public string Location => inner.Location;

        public ValueTask<IStoreTransaction> BeginAsync(CommitDurability durability, CancellationToken cancellationToken) =>
            Fail ? throw new StoreException(StoreErrorKind.Unavailable, $"The store '{Location}' failed: connection refused") : inner.BeginAsync(durability, cancellationToken);

        public Task<JobRecord?> GetJobAsync(string jobId, CancellationToken cancellationToken) => inner.GetJobAsync(jobId, cancellationToken);

        public Task<IReadOnlyList<JobRecord>> ListJobsAsync(string principal, CancellationToken cancellationToken) => inner.ListJobsAsync(principal, cancellationToken);

        public Task<IReadOnlyList<CheckpointRecord>> ListCheckpointsAsync(string jobId, CancellationToken cancellationToken) => inner.ListCheckpointsAsync(jobId, cancellationToken);

        public Task<CheckpointRecord?> FindCheckpointAsync(string jobId, string checkpointId, CancellationToken cancellationToken) => inner.FindCheckpointAsync(jobId, checkpointId, cancellationToken);

        public Task<CheckpointRecord?> FindCheckpointByKeyAsync(string jobId, string idempotencyKey, CancellationToken cancellationToken) => inner.FindCheckpointByKeyAsync(jobId, idempotencyKey, cancellationToken);

        public Task<StoredEvent?> FindEventAsync(string messageId, CancellationToken cancellationToken) => inner.FindEventAsync(messageId, cancellationToken);

        public Task<IReadOnlyList<StoredEvent>> ReadJobStreamAsync(string jobId, long afterSequence, CancellationToken cancellationToken) => inner.ReadJobStreamAsync(jobId, afterSequence, cancellationToken);

        public Task<IReadOnlyList<StoredEvent>> ReadJobEventsAfterAsync(long afterSequence, int limit, CancellationToken cancellationToken) => inner.ReadJobEventsAfterAsync(afterSequence, limit, cancellationToken);

        public Task<long> GetLastSequenceAsync(CancellationToken cancellationToken) => inner.GetLastSequenceAsync(cancellationToken);

        public Task<IReadOnlyList<StoredEvent>> ReadResponsesAsync(string correlationId, CancellationToken cancellationToken) => inner.ReadResponsesAsync(correlationId, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

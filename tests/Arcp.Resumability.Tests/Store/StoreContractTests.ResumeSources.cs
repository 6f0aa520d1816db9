using Arcp.Resumability.Store;

namespace Arcp.Resumability.Tests.Store;

/// <summary>A resume's reads in one call (one round trip on PostgreSQL): the same answers as the single reads on every store.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task A_resume_reads_the_job_its_latest_checkpoint_and_the_stream_after_that_checkpoints_event()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, async tx =>
        {
            await tx.InsertJobAsync(NewJob("job_rs"), default);
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_r1", "job.progress", EventDirection.Inbound, "sess_1", "job_rs", null, T0, "{\"at\":1}"), default));
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_r2", "job.progress", EventDirection.Inbound, "sess_1", "job_rs", null, T0, "{\"at\":2}"), default));

            Assert.True(await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_r1", "job_rs", 0, "one", "msg_r1", "key-r1", T0, "1"), default));
            Assert.True(await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_r2", "job_rs", 1, "two", "msg_r2", "key-r2", T0, "2"), default));
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_r3", "job.progress", EventDirection.Inbound, "sess_1", "job_rs", null, T0, "{\"at\":3}"), default));
        });
        var stream = await store.ReadJobStreamAsync("job_rs", 0, default);

        var afterLatest = await store.ReadResumeSourcesAsync("job_rs", afterLatestCheckpoint: true, default);
        var whole = await store.ReadResumeSourcesAsync("job_rs", afterLatestCheckpoint: false, default);

        Assert.Equal("job_rs", afterLatest.Job!.JobId);
        Assert.Equal(("chk_r2", "2"), (afterLatest.Latest!.CheckpointId, afterLatest.Latest.Output));
        Assert.Equal(stream[1].Sequence, afterLatest.AfterSequence);
        Assert.Equal([("msg_r3", "{\"at\":3}")], afterLatest.Replay.Select(e => (e.MessageId, e.Envelope)));
        Assert.Equal(("chk_r2", 0L), (whole.Latest!.CheckpointId, whole.AfterSequence));
        Assert.Equal(stream.Select(e => (e.Sequence, e.MessageId, e.Envelope)), whole.Replay.Select(e => (e.Sequence, e.MessageId, e.Envelope)));

        // A latest checkpoint whose event is not in the job's stream anchors nothing: the whole stream is replayed.
        await InTransactionAsync(store, async tx =>
        {
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_elsewhere", "job.progress", EventDirection.Inbound, "sess_1", "job_other", null, T0, "{}"), default));
            Assert.True(await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_r3", "job_rs", 2, "three", "msg_elsewhere", "key-r3", T0, "3"), default));
        });
        var unanchored = await store.ReadResumeSourcesAsync("job_rs", afterLatestCheckpoint: true, default);
        Assert.Equal(("chk_r3", 0L), (unanchored.Latest!.CheckpointId, unanchored.AfterSequence));
        Assert.Equal(["msg_r1", "msg_r2", "msg_r3"], unanchored.Replay.Select(e => e.MessageId));

        var missing = await store.ReadResumeSourcesAsync("job_missing", afterLatestCheckpoint: true, default);
        Assert.Null(missing.Job);
        Assert.Null(missing.Latest);
        Assert.Equal(0, missing.AfterSequence);
        Assert.Empty(missing.Replay);
    }
}

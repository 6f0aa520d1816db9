using Arcp.Resumability.Store;

namespace Arcp.Resumability.Tests.Store;

/// <summary>
/// A step's transaction: as two calls (the owner's events with the job's row and the cancel scan, then the checkpoint
/// with the job row; one round trip each on PostgreSQL) and as the one call that also commits (one round trip). The
/// same outcome as the single calls they stand for on every store.
/// </summary>
public abstract partial class StoreContractTests
{
    protected const string StepOutput = "{\"answer\":\"déjà 😀\"}";

    protected static readonly string StepCheckpointFrame =
        "{\"arcp\":\"1\",\"id\":\"msg_sc\",\"type\":\"job.checkpoint\",\"job_id\":\"job_sc\",\"payload\":{\"checkpoint_id\":\"chk_sc\",\"label\":\"one\",\"snapshot\":{\"step\":\"one\",\"step_index\":0,\"step_count\":1,\"output\":" + StepOutput + "}}}";

    [Fact]
    public async Task A_step_appends_its_events_reads_its_job_and_cancels_then_records_its_checkpoint_with_the_job_row()
    {
        await using var store = await OpenAsync();
        var job = NewJob("job_sc") with { Lease = new JobLease("sess_1", "host-a", 7, T0, T0.AddMinutes(1)) };
        await InTransactionAsync(store, async tx =>
        {
            await tx.InsertJobAsync(job, default);
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_cancel", "cancel", EventDirection.Inbound, "sess_2", "job_sc", null, T0, "{\"cancel\":1}"), default));
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_other", "job.progress", EventDirection.Inbound, "sess_1", "job_other", null, T0, "{}"), default));
        });
        var cancelSequence = Assert.Single(await store.ReadJobStreamAsync("job_sc", 0, default)).Sequence;

        await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
        {
            var read = await tx.TryAppendJobEventsAsync(
                [
                    new EventDraft("msg_sp", "job.progress", EventDirection.Inbound, "sess_1", "job_sc", null, T0, "{\"progress\":1}"),
                    new EventDraft("msg_sc", "job.checkpoint", EventDirection.Inbound, "sess_1", "job_sc", null, T0, StepCheckpointFrame),
                ],
                "job_sc",
                0,
                default);

            Assert.NotNull(read);
            Assert.Equal(("job_sc", "sess_1"), (read.Job!.JobId, read.Job.Lease!.SessionId));
            Assert.Equal("msg_cancel", Assert.Single(read.Cancels).MessageId);
            Assert.True(read.LastSequence > cancelSequence);

            var recorded = read.Job with { LastCheckpointId = "chk_sc", LastMessageId = "msg_sc" };
            Assert.True(await tx.TryInsertCheckpointAndUpdateJobAsync(new CheckpointRecord("chk_sc", "job_sc", 0, "one", "msg_sc", "key-sc", T0, "{\"elsewhere\":1}"), recorded, default));
            await tx.CommitAsync(default);
        }

        Assert.Equal(("chk_sc", "msg_sc"), ((await store.GetJobAsync("job_sc", default))!.LastCheckpointId, (await store.GetJobAsync("job_sc", default))!.LastMessageId));
        Assert.Equal(StepOutput, (await store.FindCheckpointByKeyAsync("job_sc", "key-sc", default))!.Output);
        Assert.DoesNotContain("déjà", (string)(await ExecuteSqlAsync("SELECT envelope FROM events WHERE message_id = 'msg_sc';"))!, StringComparison.Ordinal);
        Assert.Equal(["msg_cancel", "msg_sp", "msg_sc"], (await store.ReadJobStreamAsync("job_sc", 0, default)).Select(e => e.MessageId));
        Assert.Equal(StepCheckpointFrame, (await store.FindEventAsync("msg_sc", default))!.Envelope);

        // Without a scan asked for (a terminal event), only the job is read.
        await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
        {
            var read = await tx.TryAppendJobEventsAsync([new EventDraft("msg_done", "job.completed", EventDirection.Inbound, "sess_1", "job_sc", null, T0, "{}")], "job_sc", null, default);
            Assert.NotNull(read);
            Assert.Equal("chk_sc", read.Job!.LastCheckpointId);
            Assert.Empty(read.Cancels);
        }
    }

    [Fact]
    public async Task A_step_with_a_logged_event_or_a_refused_checkpoint_writes_nothing_through_the_step_calls()
    {
        await using var store = await OpenAsync();
        var job = NewJob("job_sc") with { Lease = new JobLease("sess_1", "host-a", 7, T0, T0.AddMinutes(1)) };
        await InTransactionAsync(store, async tx =>
        {
            await tx.InsertJobAsync(job, default);
            Assert.True(await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_sc", "job_sc", 0, "one", "msg_first", "key-one", T0, "1"), default));
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_logged", "job.progress", EventDirection.Inbound, "sess_1", "job_sc", null, T0, "{}"), default));
        });

        await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
        {
            Assert.Null(await tx.TryAppendJobEventsAsync([new EventDraft("msg_logged", "job.progress", EventDirection.Inbound, "sess_1", "job_sc", null, T0, "{}")], "job_sc", 0, default));
        }

        await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
        {
            var read = await tx.TryAppendJobEventsAsync([new EventDraft("msg_sc", "job.checkpoint", EventDirection.Inbound, "sess_1", "job_sc", null, T0, StepCheckpointFrame)], "job_sc", 0, default);
            Assert.NotNull(read);
            var recorded = read.Job! with { LastCheckpointId = "chk_other", LastMessageId = "msg_sc" };

            // The id is taken, then the key is: neither checkpoint nor job row is written.
            Assert.False(await tx.TryInsertCheckpointAndUpdateJobAsync(new CheckpointRecord("chk_sc", "job_sc", 1, "two", "msg_sc", "key-two", T0, StepOutput), recorded, default));
            Assert.False(await tx.TryInsertCheckpointAndUpdateJobAsync(new CheckpointRecord("chk_other", "job_sc", 0, "one", "msg_sc", "key-one", T0, StepOutput), recorded, default));
            Assert.Null((await tx.GetJobAsync("job_sc", default))!.LastCheckpointId);
            await tx.CommitAsync(default);
        }

        Assert.Null((await store.GetJobAsync("job_sc", default))!.LastCheckpointId);
        Assert.Equal(("chk_sc", "1"), (Assert.Single(await store.ListCheckpointsAsync("job_sc", default)).CheckpointId, Assert.Single(await store.ListCheckpointsAsync("job_sc", default)).Output));

        // The event logged without its output got it back, since no checkpoint row holds it.
        Assert.Equal(StepCheckpointFrame, (string)(await ExecuteSqlAsync("SELECT envelope FROM events WHERE message_id = 'msg_sc';"))!);
        Assert.Equal(["msg_logged", "msg_sc"], (await store.ReadJobStreamAsync("job_sc", 0, default)).Select(e => e.MessageId));
    }

    [Fact]
    public async Task A_step_records_its_events_checkpoint_and_job_row_and_finds_cancels_as_it_commits()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, async tx =>
        {
            await tx.InsertJobAsync(NewJob("job_sc") with { Lease = OwnerLease, LastMessageId = "msg_start" }, default);
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_cancel", "cancel", EventDirection.Inbound, "sess_2", "job_sc", null, T0, "{\"cancel\":1}"), default));
        });
        var cancelSequence = Assert.Single(await store.ReadJobStreamAsync("job_sc", 0, default)).Sequence;

        var renewed = OwnerLease with { ExpiresAt = T0.AddMinutes(5) };
        OwnerEventsRecorded? recorded;
        await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
        {
            recorded = await tx.TryRecordOwnerEventsAndCommitAsync(
                [
                    new EventDraft("msg_sp", "job.progress", EventDirection.Inbound, "sess_1", "job_sc", null, T0, "{\"progress\":1}"),
                    new EventDraft("msg_sc", "job.checkpoint", EventDirection.Inbound, "sess_1", "job_sc", null, T0, StepCheckpointFrame),
                ],
                StepWrite(renewed) with { LastMessageId = "msg_sc", Checkpoint = StepCheckpoint("chk_sc", "key-sc") },
                0,
                default);
        }

        Assert.NotNull(recorded);
        Assert.Equal("msg_cancel", Assert.Single(recorded.Cancels).MessageId);
        Assert.True(recorded.LastSequence > cancelSequence);
        var job = (await store.GetJobAsync("job_sc", default))!;
        Assert.Equal(("chk_sc", "msg_sc", renewed.ExpiresAt, T0.AddSeconds(5)), (job.LastCheckpointId, job.LastMessageId, job.Lease!.ExpiresAt, job.UpdatedAt));
        Assert.Equal(StepOutput, Assert.Single(await store.ListCheckpointsAsync("job_sc", default)).Output);
        Assert.DoesNotContain("déjà", (string)(await ExecuteSqlAsync("SELECT envelope FROM events WHERE message_id = 'msg_sc';"))!, StringComparison.Ordinal);
        Assert.Equal(StepCheckpointFrame, (await store.FindEventAsync("msg_sc", default))!.Envelope);
        Assert.Equal(["msg_cancel", "msg_sp", "msg_sc"], (await store.ReadJobStreamAsync("job_sc", 0, default)).Select(e => e.MessageId));

        // A heartbeat-like write keeps the last message; nothing to scan finds nothing.
        await using (var tx = await store.BeginAsync(CommitDurability.ProcessSafe, default))
        {
            recorded = await tx.TryRecordOwnerEventsAndCommitAsync([new EventDraft("msg_log", "job.log", EventDirection.Inbound, "sess_1", "job_sc", null, T0, "{}")], StepWrite(renewed), recorded.LastSequence, default);
        }

        Assert.Empty(recorded!.Cancels);
        Assert.Equal("msg_sc", (await store.GetJobAsync("job_sc", default))!.LastMessageId);

        // A terminal event ends the job and drops its lease.
        await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
        {
            recorded = await tx.TryRecordOwnerEventsAndCommitAsync(
                [new EventDraft("msg_done", "job.completed", EventDirection.Inbound, "sess_1", "job_sc", null, T0, "{}")],
                StepWrite(renewed) with { LastMessageId = "msg_done", TerminalState = "completed", Result = "{\"ok\":true}" },
                null,
                default);
        }

        Assert.Equal(0, recorded!.LastSequence);
        job = (await store.GetJobAsync("job_sc", default))!;
        Assert.Equal(("completed", "{\"ok\":true}", "msg_done", "chk_sc"), (job.State, job.Result, job.LastMessageId, job.LastCheckpointId));
        Assert.Null(job.Lease);
    }

    [Fact]
    public async Task A_step_that_is_not_the_owners_to_record_commits_nothing_of_it()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, async tx =>
        {
            await tx.InsertJobAsync(NewJob("job_sc") with { Lease = OwnerLease }, default);
            await tx.InsertJobAsync(NewJob("job_ended") with { Lease = OwnerLease, State = "failed" }, default);
            Assert.True(await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_sc", "job_sc", 0, "one", "msg_first", "key-one", T0, "1"), default));
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_logged", "job.progress", EventDirection.Inbound, "sess_1", "job_sc", null, T0, "{}"), default));
        });

        var step = StepWrite(OwnerLease) with { LastMessageId = "msg_sc", Checkpoint = StepCheckpoint("chk_new", "key-new") };
        var refusals = new (string Why, OwnerJobWrite Write, string[] MessageIds)[]
        {
            ("taken checkpoint id", step with { Checkpoint = StepCheckpoint("chk_sc", "key-two") }, ["msg_sp", "msg_sc"]),
            ("recorded step key", step with { Checkpoint = StepCheckpoint("chk_other", "key-one") }, ["msg_sp", "msg_sc"]),
            ("logged event", step, ["msg_logged", "msg_sc"]),
            ("another session's lease", step with { Lease = OwnerLease with { SessionId = "sess_2" } }, ["msg_sp", "msg_sc"]),
            ("another principal", step with { Principal = "bob" }, ["msg_sp", "msg_sc"]),
            ("an ended job", step with { JobId = "job_ended", Checkpoint = StepCheckpoint("chk_new", "key-new") with { JobId = "job_ended" } }, ["msg_sp", "msg_sc"]),
            ("a missing job", step with { JobId = "job_none", Checkpoint = StepCheckpoint("chk_new", "key-new") with { JobId = "job_none" } }, ["msg_sp", "msg_sc"]),
        };
        foreach (var (why, write, messageIds) in refusals)
        {
            await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
            {
                var drafts = messageIds.Select(id => id == "msg_sc"
                    ? new EventDraft(id, "job.checkpoint", EventDirection.Inbound, "sess_1", write.JobId, null, T0, StepCheckpointFrame)
                    : new EventDraft(id, "job.progress", EventDirection.Inbound, "sess_1", write.JobId, null, T0, "{}")).ToList();
                Assert.True(await tx.TryRecordOwnerEventsAndCommitAsync(drafts, write, 0, default) is null, why);
            }

            Assert.True((await store.GetJobAsync("job_sc", default))! is { LastCheckpointId: null, LastMessageId: null }, why);
            Assert.True(("chk_sc", "1") == (Assert.Single(await store.ListCheckpointsAsync("job_sc", default)).CheckpointId, Assert.Single(await store.ListCheckpointsAsync("job_sc", default)).Output), why);
            Assert.True(await store.FindEventAsync("msg_sc", default) is null && await store.FindEventAsync("msg_sp", default) is null, why);
            Assert.Equal(["msg_logged"], (await store.ReadJobStreamAsync("job_sc", 0, default)).Select(e => e.MessageId));
        }

        Assert.Equal("failed", (await store.GetJobAsync("job_ended", default))!.State);
        Assert.Empty(await store.ListCheckpointsAsync("job_ended", default));
    }

    [Fact]
    public async Task Two_checkpoint_events_in_one_batch_are_recorded_with_each_output_where_it_belongs()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_sc") with { Lease = OwnerLease }, default));
        var earlier = StepCheckpointFrame.Replace("msg_sc", "msg_early", StringComparison.Ordinal).Replace("chk_sc", "chk_early", StringComparison.Ordinal);

        await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
        {
            Assert.NotNull(await tx.TryRecordOwnerEventsAndCommitAsync(
                [
                    new EventDraft("msg_early", "job.checkpoint", EventDirection.Inbound, "sess_1", "job_sc", null, T0, earlier),
                    new EventDraft("msg_sc", "job.checkpoint", EventDirection.Inbound, "sess_1", "job_sc", null, T0, StepCheckpointFrame),
                ],
                StepWrite(OwnerLease) with { LastMessageId = "msg_sc", Checkpoint = StepCheckpoint("chk_sc", "key-sc") },
                0,
                default));
        }

        // The recorded one holds its output once; the other event, with no checkpoint row, keeps its own.
        Assert.Equal(StepOutput, Assert.Single(await store.ListCheckpointsAsync("job_sc", default)).Output);
        Assert.Equal(earlier, (string)(await ExecuteSqlAsync("SELECT envelope FROM events WHERE message_id = 'msg_early';"))!);
        Assert.Equal(StepCheckpointFrame, (await store.FindEventAsync("msg_sc", default))!.Envelope);
        Assert.Equal("chk_sc", (await store.GetJobAsync("job_sc", default))!.LastCheckpointId);
    }

    [Fact]
    public async Task A_step_that_returned_nothing_records_its_checkpoint_with_the_output_it_was_given_and_its_event_whole()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_sc") with { Lease = OwnerLease }, default));
        var withoutOutput = StepCheckpointFrame.Replace(",\"output\":" + StepOutput, string.Empty, StringComparison.Ordinal);
        Assert.DoesNotContain("output", withoutOutput, StringComparison.Ordinal);

        await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
        {
            Assert.NotNull(await tx.TryRecordOwnerEventsAndCommitAsync(
                [
                    new EventDraft("msg_sp", "job.progress", EventDirection.Inbound, "sess_1", "job_sc", null, T0, "{\"progress\":1}"),
                    new EventDraft("msg_sc", "job.checkpoint", EventDirection.Inbound, "sess_1", "job_sc", null, T0, withoutOutput),
                ],
                StepWrite(OwnerLease) with { LastMessageId = "msg_sc", Checkpoint = StepCheckpoint("chk_sc", "key-sc") with { Output = "null" } },
                0,
                default));
        }

        // As the single calls store it: the row holds the output it was recorded with, the event is logged as it came.
        var checkpoint = Assert.Single(await store.ListCheckpointsAsync("job_sc", default));
        Assert.Equal(("chk_sc", "null"), (checkpoint.CheckpointId, checkpoint.Output));
        Assert.Equal(withoutOutput, (string)(await ExecuteSqlAsync("SELECT envelope FROM events WHERE message_id = 'msg_sc';"))!);
        Assert.Equal(1L, Convert.ToInt64(await ExecuteSqlAsync("SELECT COUNT(*) FROM events WHERE message_id = 'msg_sc' AND output_at IS NULL;"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(withoutOutput, (await store.FindEventAsync("msg_sc", default))!.Envelope);
        Assert.Equal(("chk_sc", "msg_sc"), ((await store.GetJobAsync("job_sc", default))!.LastCheckpointId, (await store.GetJobAsync("job_sc", default))!.LastMessageId));
        Assert.Equal(["msg_sp", "msg_sc"], (await store.ReadJobStreamAsync("job_sc", 0, default)).Select(e => e.MessageId));
    }

    [Fact]
    public async Task A_cancel_scan_finds_the_jobs_inbound_cancels_after_a_sequence_and_the_streams_last_sequence()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, async tx =>
        {
            for (var i = 1; i <= 40; i++)
            {
                var (type, direction, job) = i switch
                {
                    7 => ("cancel", EventDirection.Inbound, "job_sc"),
                    9 => ("cancel", EventDirection.Outbound, "job_sc"),
                    11 => ("cancel", EventDirection.Inbound, "job_other"),
                    _ => ("job.progress", EventDirection.Inbound, "job_sc"),
                };
                Assert.True(await tx.TryAppendEventAsync(new EventDraft($"msg_{i}", type, direction, "sess_1", job, null, T0, "{}"), default));
            }
        });
        var stream = await store.ReadJobStreamAsync("job_sc", 0, default);

        await using var read = await store.BeginAsync(CommitDurability.ProcessSafe, default);
        var (cancels, last) = await read.ReadJobCancelsAsync("job_sc", 0, default);
        Assert.Equal(("msg_7", stream[^1].Sequence), (Assert.Single(cancels).MessageId, last));

        // After the cancel: none, and the same end of the stream; at the end of the stream, or for a job with none, the
        // sequence it was asked from.
        Assert.Empty((await read.ReadJobCancelsAsync("job_sc", cancels[0].Sequence, default)).Cancels);
        Assert.Equal(last, (await read.ReadJobCancelsAsync("job_sc", cancels[0].Sequence, default)).LastSequence);
        Assert.Equal((0, last), ((await read.ReadJobCancelsAsync("job_sc", last, default)).Cancels.Count, (await read.ReadJobCancelsAsync("job_sc", last, default)).LastSequence));
        Assert.Equal((0, 42L), ((await read.ReadJobCancelsAsync("job_none", 42, default)).Cancels.Count, (await read.ReadJobCancelsAsync("job_none", 42, default)).LastSequence));
    }

    private static readonly JobLease OwnerLease = new("sess_1", "host-a", 7, T0, T0.AddMinutes(1));

    private static OwnerJobWrite StepWrite(JobLease lease) => new("job_sc", "local:test", lease, T0.AddSeconds(5));

    private static CheckpointRecord StepCheckpoint(string checkpointId, string key) =>
        new(checkpointId, "job_sc", 0, "one", "msg_sc", key, T0.AddSeconds(5), "{\"elsewhere\":1}");

    [Fact]
    public async Task Writes_the_store_may_send_later_are_seen_by_the_transaction_and_a_job_row_that_changed_fails_it_whole()
    {
        await using var store = await OpenAsync();
        var job = NewJob("job_h") with { Lease = new JobLease("sess_1", "host-a", 7, T0, T0.AddMinutes(1)) };
        await InTransactionAsync(store, tx => tx.InsertJobAsync(job, default));

        await using (var tx = await store.BeginAsync(CommitDurability.ProcessSafe, default))
        {
            await tx.UpdateJobAsync(job with { Name = "renamed", UpdatedAt = T0.AddSeconds(1) }, default);
            await tx.AppendEventAsync(new EventDraft("msg_h", "ack", EventDirection.Outbound, "sess_1", null, null, T0, "{}"), default);
            Assert.Equal("renamed", (await tx.GetJobAsync("job_h", default))!.Name);
            Assert.False(await tx.TryAppendEventAsync(new EventDraft("msg_h", "ack", EventDirection.Outbound, "sess_1", null, null, T0, "{}"), default));
            await tx.CommitAsync(default);
        }

        Assert.Equal("renamed", (await store.GetJobAsync("job_h", default))!.Name);

        var corrupt = await Assert.ThrowsAsync<StoreException>(async () =>
        {
            await using var tx = await store.BeginAsync(CommitDurability.Durable, default);
            await tx.AppendEventAsync(new EventDraft("msg_lost", "ack", EventDirection.Outbound, "sess_1", null, null, T0, "{}"), default);
            await tx.UpdateJobAsync(job with { Inputs = "{\"other\":1}", Name = "changed" }, default);
            await tx.CommitAsync(default);
        });
        Assert.Equal(StoreErrorKind.Corrupt, corrupt.Kind);
        Assert.Null(await store.FindEventAsync("msg_lost", default));
        Assert.Equal("renamed", (await store.GetJobAsync("job_h", default))!.Name);
    }
}

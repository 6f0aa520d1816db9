using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store;
using Arcp.Resumability.Tests.Core;

namespace Arcp.Resumability.Tests.Store;

/// <summary>
/// The store contract, run unchanged against every store kind: each subclass only says how to open its
/// store and how to run raw SQL against it. Several opens of one store stand in for several processes.
/// </summary>
public abstract partial class StoreContractTests
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly string[] ThreeSteps = ["one", "two", "three"];

    /// <summary>Opens (creating or upgrading) this test's store; every call is a separate connection, like another process.</summary>
    protected abstract Task<IArcpStore> OpenAsync();

    /// <summary>Runs SQL straight against this test's store, bypassing the store code; returns the first column of the first row.</summary>
    protected abstract Task<object?> ExecuteSqlAsync(string sql);

    /// <summary>Creates this test's store as migration 1 alone left it (the first released schema).</summary>
    protected abstract Task CreateFirstSchemaAsync();

    protected abstract int LatestSchemaVersion { get; }

    protected abstract int MigrationCount { get; }

    [Fact]
    public async Task A_job_round_trips_with_its_lease()
    {
        await using var store = await OpenAsync();
        var job = NewJob("job_a") with { Name = "nightly", IdempotencyKey = "k1", Lease = new JobLease("sess_1", "host-a", 4242, T0.AddMinutes(-5), T0.AddMinutes(1)) };
        await InTransactionAsync(store, tx => tx.InsertJobAsync(job, default));

        var read = await store.GetJobAsync("job_a", default);

        Assert.NotNull(read);
        Assert.Equal(job with { CreatedAt = read.CreatedAt, UpdatedAt = read.UpdatedAt, Lease = read.Lease }, read);
        Assert.Equal(job.Lease with { ProcessStartedAt = read.Lease!.ProcessStartedAt, ExpiresAt = read.Lease.ExpiresAt }, read.Lease);
        AssertClose(T0, read.CreatedAt);
        AssertClose(T0.AddMinutes(1), read.Lease.ExpiresAt);
        Assert.Equal(0, read.PurgedThroughSequence);
        Assert.Equal(["job_a"], (await store.ListJobsAsync("local:test", default)).Select(j => j.JobId));
        Assert.Empty(await store.ListJobsAsync("someone-else", default));
    }

    [Fact]
    public async Task A_job_update_writes_every_column_it_is_given_and_refuses_a_job_whose_identity_changed()
    {
        // A step's update (progress and the lease's expiry) may take a narrower statement than the others; the row must
        // end up the same whichever columns changed.
        await using var store = await OpenAsync();
        var lease = new JobLease("sess_1", "host-a", 4242, T0, T0.AddMinutes(1));
        var job = NewJob("job_u") with { Lease = lease };
        await InTransactionAsync(store, tx => tx.InsertJobAsync(job, default));

        var stepped = job with { LastCheckpointId = "chk_1", LastMessageId = "msg_1", UpdatedAt = T0.AddSeconds(1), Lease = lease with { ExpiresAt = T0.AddMinutes(2) } };
        await InTransactionAsync(store, tx => tx.UpdateJobAsync(stepped, default));
        Assert.Equal(stepped, await store.GetJobAsync("job_u", default));

        var taken = stepped with { Name = "renamed", UpdatedAt = T0.AddSeconds(2), Lease = new JobLease("sess_2", "host-b", 7, T0.AddSeconds(2), T0.AddMinutes(3)) };
        await InTransactionAsync(store, tx => tx.UpdateJobAsync(taken, default));
        Assert.Equal(taken, await store.GetJobAsync("job_u", default));

        var ended = taken with { State = JobStates.Completed, Result = "{\"n\":1}", LastMessageId = "msg_2", UpdatedAt = T0.AddSeconds(3), Lease = null };
        await InTransactionAsync(store, tx => tx.UpdateJobAsync(ended, default));
        Assert.Equal(ended, await store.GetJobAsync("job_u", default));
        await using (var tx = await store.BeginAsync(CommitDurability.ProcessSafe, default))
        {
            Assert.Empty(await tx.ListJobsLeasedByAsync("sess_2", default));
        }

        var refused = await Assert.ThrowsAsync<StoreException>(() => InTransactionAsync(store, tx => tx.UpdateJobAsync(ended with { Inputs = "{\"other\":1}", UpdatedAt = T0.AddSeconds(4) }, default)));
        Assert.Equal(StoreErrorKind.Corrupt, refused.Kind);
        Assert.Equal(ended, await store.GetJobAsync("job_u", default));
    }

    [Fact]
    public async Task Events_get_increasing_sequences_and_a_repeated_message_id_is_refused_without_breaking_the_transaction()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_e"), default));
        bool again;
        await using (var tx = await store.BeginAsync(CommitDurability.ProcessSafe, default))
        {
            Assert.True(await tx.TryAppendEventAsync(Event("msg_1", "job_e", null), default));
            again = await tx.TryAppendEventAsync(Event("msg_1", "job_e", null), default);
            Assert.True(await tx.TryAppendEventAsync(Event("msg_2", null, "msg_1"), default));
            Assert.True(await tx.TryAppendEventAsync(Event("msg_3", "job_e", null), default));
            await tx.CommitAsync(default);
        }

        Assert.False(again);
        var stream = await store.ReadJobStreamAsync("job_e", 0, default);
        Assert.Equal(["msg_1", "msg_3"], stream.Select(e => e.MessageId));
        Assert.True(stream[1].Sequence > stream[0].Sequence);
        Assert.Equal(["msg_3"], (await store.ReadJobStreamAsync("job_e", stream[0].Sequence, default)).Select(e => e.MessageId));
        Assert.Equal("msg_2", Assert.Single(await store.ReadResponsesAsync("msg_1", default)).MessageId);
        var found = await store.FindEventAsync("msg_3", default);
        Assert.Equal("{\"id\":\"msg_3\"}", found!.Envelope);
        Assert.Equal(EventDirection.Outbound, found.Direction);
        Assert.Null(await store.FindEventAsync("msg_missing", default));
    }

    [Fact]
    public async Task A_transaction_disposed_without_commit_leaves_nothing_behind()
    {
        await using var store = await OpenAsync();
        await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
        {
            await tx.InsertJobAsync(NewJob("job_r"), default);
            await tx.TryAppendEventAsync(Event("msg_r", "job_r", null), default);
        }

        Assert.Null(await store.GetJobAsync("job_r", default));
        Assert.Null(await store.FindEventAsync("msg_r", default));
    }

    [Fact]
    public async Task Checkpoints_list_in_recording_order_and_are_found_by_id_and_key()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, async tx =>
        {
            await tx.InsertJobAsync(NewJob("job_c"), default);
            foreach (var (id, index) in new[] { ("chk_z", 0), ("chk_a", 1), ("chk_m", 2) })
            {
                await tx.TryInsertCheckpointAsync(new CheckpointRecord(id, "job_c", index, "s" + index, "msg_" + id, "key-" + index, T0, $"[{index}]"), default);
            }
        });

        Assert.Equal(["chk_z", "chk_a", "chk_m"], (await store.ListCheckpointsAsync("job_c", default)).Select(c => c.CheckpointId));
        Assert.Equal("[1]", (await store.FindCheckpointAsync("job_c", "chk_a", default))!.Output);
        Assert.Equal("chk_m", (await store.FindCheckpointByKeyAsync("job_c", "key-2", default))!.CheckpointId);
        Assert.Null(await store.FindCheckpointByKeyAsync("job_c", "key-9", default));
    }

    [Fact]
    public async Task The_latest_checkpoints_of_a_job_are_read_in_recording_order_whatever_their_ids()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, async tx =>
        {
            await tx.InsertJobAsync(NewJob("job_l"), default);
            await tx.InsertJobAsync(NewJob("job_other"), default);
            foreach (var (id, job, index) in new[] { ("chk_z", "job_l", 0), ("chk_a", "job_l", 1), ("chk_o", "job_other", 0), ("chk_m", "job_l", 2) })
            {
                await tx.TryInsertCheckpointAsync(new CheckpointRecord(id, job, index, "s" + index, "msg_" + id, "key-" + index, T0, $"[{index}]"), default);
            }
        });

        Assert.Equal("chk_m", (await store.FindLatestCheckpointAsync("job_l", default))!.CheckpointId);
        Assert.Equal("[2]", (await store.FindLatestCheckpointAsync("job_l", default))!.Output);
        Assert.Equal(["chk_a", "chk_m"], (await store.ListLastCheckpointsAsync("job_l", 2, default)).Select(c => c.CheckpointId));
        Assert.Equal(["chk_z", "chk_a", "chk_m"], (await store.ListLastCheckpointsAsync("job_l", 10, default)).Select(c => c.CheckpointId));
        Assert.Equal(["chk_o"], (await store.ListLastCheckpointsAsync("job_other", 1, default)).Select(c => c.CheckpointId));
        Assert.Null(await store.FindLatestCheckpointAsync("job_none", default));
        Assert.Empty(await store.ListLastCheckpointsAsync("job_none", 3, default));
    }

    [Fact]
    public async Task A_run_logs_each_steps_progress_and_checkpoint_but_not_their_acks()
    {
        var workflow = new CountingWorkflow("counting", ThreeSteps);
        await using var arcp = await EmbeddedArcp.OpenAsync(await OpenAsync(), null, default);
        var result = await new StepRunner(arcp.Client).StartAsync(workflow.Definition, JsonValue.Create("in"), null, null, null, default);

        Assert.Equal(JobStates.Completed, result.State);
        await using var reader = await OpenAsync();
        var stream = await reader.ReadJobStreamAsync(result.JobId, 0, default);
        Assert.Equal(3, stream.Count(e => e.Type == MessageTypes.JobProgress));
        Assert.Equal(3, stream.Count(e => e.Type == MessageTypes.JobCheckpoint));
        var ackedEvents = Convert.ToInt64(await ExecuteSqlAsync(
            $"SELECT COUNT(*) FROM events a JOIN events e ON a.correlation_id = e.message_id WHERE a.type = 'ack' AND e.job_id = '{result.JobId}';"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(0, ackedEvents);
        Assert.Equal(["two", "three"], (await arcp.Client.QueryCheckpointsAsync(result.JobId, null, 2, default)).Select(c => c.Step));
    }

    [Fact]
    public async Task Checkpoints_are_read_in_pages_in_recording_order_each_after_the_one_named()
    {
        string[] sixSteps = ["one", "two", "three", "four", "five", "six"];
        var workflow = new CountingWorkflow("counting", sixSteps);
        await using var arcp = await EmbeddedArcp.OpenAsync(await OpenAsync(), null, default);
        var result = await new StepRunner(arcp.Client).StartAsync(workflow.Definition, JsonValue.Create("in"), null, null, null, default);

        var pages = await ReadCheckpointPagesAsync(arcp.Client, result.JobId, 3);

        // Six in pages of three: two requests, the second one says there is nothing after it.
        Assert.Equal([3, 3], pages.Select(p => p.Checkpoints.Count));
        Assert.Equal(sixSteps, pages.SelectMany(p => p.Checkpoints).Select(c => c.Step));
        Assert.All(pages.SelectMany(p => p.Checkpoints), c => Assert.NotNull(c.Output));
        var unknown = await Assert.ThrowsAsync<ArcpException>(() => arcp.Client.QueryCheckpointPageAsync(result.JobId, "chk_01J0000000000000000000000", 3, default));
        Assert.Equal(ErrorCodes.NotFound, unknown.Code);

        // A checkpoint named by id comes alone; another job's checkpoint is not this job's.
        var third = pages[0].Checkpoints[2];
        Assert.Equal([third.CheckpointId], (await arcp.Client.QueryCheckpointsAsync(result.JobId, third.CheckpointId, default)).Select(c => c.CheckpointId));
        var other = await new StepRunner(arcp.Client).StartAsync(new CountingWorkflow("counting", ["only"]).Definition, null, null, null, null, default);
        var foreign = await Assert.ThrowsAsync<ArcpException>(() => arcp.Client.QueryCheckpointsAsync(other.JobId, third.CheckpointId, default));
        Assert.Equal(ErrorCodes.NotFound, foreign.Code);
        Assert.Equal(ErrorCodes.NotFound, (await Assert.ThrowsAsync<ArcpException>(() => arcp.Client.QueryCheckpointPageAsync(other.JobId, third.CheckpointId, 3, default))).Code);
    }

    [Fact]
    public async Task A_page_of_checkpoints_stops_at_its_byte_budget_but_always_holds_one()
    {
        // Outputs of 150 KB: two fit in the 256 KB budget of outputs only when the first is alone, so each page holds one.
        var big = new string('x', 150 * 1024);
        var workflow = new WorkflowDefinition("big", [.. Enumerable.Range(1, 3).Select(i => new StepDefinition($"s{i}", (_, _) => ValueTask.FromResult<JsonNode?>(JsonValue.Create(big))))]);
        await using var arcp = await EmbeddedArcp.OpenAsync(await OpenAsync(), null, default);
        var result = await new StepRunner(arcp.Client).StartAsync(workflow, null, null, null, null, default);

        var pages = await ReadCheckpointPagesAsync(arcp.Client, result.JobId, null);

        Assert.Equal([1, 1, 1], pages.Select(p => p.Checkpoints.Count));
        Assert.Equal(["s1", "s2", "s3"], pages.SelectMany(p => p.Checkpoints).Select(c => c.Step));
    }

    [Theory]
    [InlineData("{\"a\":1,\"a\":2}")]
    [InlineData("{\"a\":")]
    [InlineData("[1] [2]")]
    [InlineData("\"\\ud800\"")]
    [InlineData("")]
    public async Task A_damaged_stored_output_is_refused_as_DATA_LOSS_naming_its_checkpoint_and_the_session_goes_on(string damaged)
    {
        var workflow = new CountingWorkflow("counting", ThreeSteps);
        await using var arcp = await EmbeddedArcp.OpenAsync(await OpenAsync(), null, default);
        var result = await new StepRunner(arcp.Client).StartAsync(workflow.Definition, JsonValue.Create("in"), null, null, null, default);
        var second = (await arcp.Client.QueryCheckpointsAsync(result.JobId, null, default))[1];
        await ExecuteSqlAsync($"UPDATE checkpoints SET output = '{damaged.Replace("'", "''", StringComparison.Ordinal)}' WHERE checkpoint_id = '{second.CheckpointId}';");

        // Every way of listing it: a page, the whole list, the last ones, the one by id.
        foreach (var listing in new Func<Task>[]
        {
            () => arcp.Client.QueryCheckpointPageAsync(result.JobId, null, null, default),
            () => arcp.Client.QueryCheckpointsAsync(result.JobId, null, default),
            () => arcp.Client.QueryCheckpointsAsync(result.JobId, null, 2, default),
            () => arcp.Client.QueryCheckpointsAsync(result.JobId, second.CheckpointId, default),
        })
        {
            var refused = await Assert.ThrowsAsync<ArcpException>(listing);
            Assert.Equal(ErrorCodes.DataLoss, refused.Code);
            Assert.Contains(second.CheckpointId, refused.Message, StringComparison.Ordinal);
        }

        // The checkpoints around it still read, on the same session: the refusal was an answer, not a broken frame.
        Assert.Equal(["one"], (await arcp.Client.QueryCheckpointPageAsync(result.JobId, null, 1, default)).Checkpoints.Select(c => c.Step));
        var last = Assert.Single(await arcp.Client.QueryCheckpointsAsync(result.JobId, null, 1, default));
        Assert.Equal("three", last.Step);
        Assert.NotNull(last.Output);
    }

    private static async Task<List<CheckpointListPayload>> ReadCheckpointPagesAsync(ArcpClient client, string jobId, int? limit)
    {
        var pages = new List<CheckpointListPayload>();
        string? after = null;
        do
        {
            var page = await client.QueryCheckpointPageAsync(jobId, after, limit, default);
            pages.Add(page);
            after = page.Next;
        }
        while (after is not null && pages.Count < 100);

        return pages;
    }

    [Fact]
    public async Task A_resume_asking_for_the_replay_after_the_checkpoint_gets_only_what_follows_it()
    {
        var workflow = new CountingWorkflow("counting", ThreeSteps);
        string jobId;
        await using (var first = await EmbeddedArcp.OpenAsync(await OpenAsync(), null, default))
        {
            using var stop = new StopAfter("two");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new StepRunner(first.Client).StartAsync(workflow.Definition, JsonValue.Create("in"), null, null, stop, stop.Token));
            jobId = stop.JobId!;
        }

        await using var second = await EmbeddedArcp.OpenAsync(await OpenAsync(), null, default);
        var whole = await second.Client.ResumeAsync(jobId, null, null, default);
        var afterLatest = await second.Client.ResumeAfterCheckpointAsync(jobId, null, default);
        var firstCheckpoint = (await second.Client.QueryCheckpointsAsync(jobId, null, default))[0];
        var afterFirst = await second.Client.ResumeAfterCheckpointAsync(jobId, firstCheckpoint.CheckpointId, default);

        Assert.Equal("two", whole.Complete.Checkpoint!.Step);
        Assert.True(whole.Complete.Replayed >= 6, $"The whole stream holds 2 job events and 2 per step; {whole.Complete.Replayed} were replayed.");
        Assert.Equal(0, afterLatest.Complete.Replayed);
        Assert.Equal(whole.Complete.Checkpoint.MessageId, afterLatest.Complete.LastMessageId);
        Assert.Equal("two", afterLatest.Complete.Checkpoint!.Step);
        Assert.Equal("one", afterFirst.Complete.Checkpoint!.Step);
        Assert.Equal(["job.progress", "job.checkpoint"], afterFirst.ReplayedFrames.Select(f => EnvelopeCodec.Parse(f).Type));
    }

    [Fact]
    public async Task Racing_writers_of_one_step_record_it_once_and_the_others_see_the_recorded_outcome()
    {
        await using (var setup = await OpenAsync())
        {
            await InTransactionAsync(setup, tx => tx.InsertJobAsync(NewJob("job_d"), default));
        }

        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => OpenAsync()));
        try
        {
            using var go = new ManualResetEventSlim();
            var racers = stores.Select((store, i) => Task.Run(async () =>
            {
                go.Wait();

                // The runtime's sequence for a checkpoint: lock the job, insert unless the key is taken, else look it up.
                await using var tx = await store.BeginAsync(CommitDurability.Durable, default);
                await tx.GetJobAsync("job_d", default);
                if (await tx.TryInsertCheckpointAsync(new CheckpointRecord($"chk_{i}", "job_d", 0, "one", $"msg_{i}", "step-key", T0, "null"), default))
                {
                    await tx.CommitAsync(default);
                    return $"inserted chk_{i}";
                }

                return (await tx.FindCheckpointByKeyAsync("job_d", "step-key", default))!.CheckpointId;
            })).ToList();
            go.Set();
            var outcomes = await Task.WhenAll(racers);

            var inserted = Assert.Single(outcomes, o => o.StartsWith("inserted", StringComparison.Ordinal));
            Assert.All(outcomes.Where(o => o != inserted), o => Assert.Equal(inserted["inserted ".Length..], o));
            Assert.Single(await stores[0].ListCheckpointsAsync("job_d", default));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Racing_claims_of_an_unowned_job_let_exactly_one_win()
    {
        await using (var setup = await OpenAsync())
        {
            await InTransactionAsync(setup, tx => tx.InsertJobAsync(NewJob("job_l"), default));
        }

        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => OpenAsync()));
        try
        {
            var now = DateTimeOffset.UtcNow;
            var wins = await Task.WhenAll(stores.Select((store, i) => Task.Run(async () =>
            {
                await using var tx = await store.BeginAsync(CommitDurability.ProcessSafe, default);
                var job = await tx.GetJobAsync("job_l", default);
                if (LeaseLiveness.IsLive(job!.Lease, now))
                {
                    return false;
                }

                await tx.UpdateJobAsync(job with { Lease = new JobLease($"sess_{i}", "elsewhere", 1, now, now.AddMinutes(1)) }, default);
                await tx.CommitAsync(default);
                return true;
            })));

            Assert.Single(wins, w => w);
            var owner = (await stores[0].GetJobAsync("job_l", default))!.Lease!.SessionId;
            Assert.Equal($"sess_{Array.IndexOf(wins, true)}", owner);
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task An_expired_idempotency_record_is_replaced_and_expired_records_are_purged()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, tx => tx.InsertLedgerEntryAsync(new LedgerEntry("local:test", "key", "hash-1", "job_1", T0, T0.AddDays(1)), default));
        await InTransactionAsync(store, tx => tx.InsertLedgerEntryAsync(new LedgerEntry("local:test", "key", "hash-2", "job_2", T0.AddDays(2), T0.AddDays(3)), default));
        await InTransactionAsync(store, tx => tx.InsertLedgerEntryAsync(new LedgerEntry("local:test", "other", "hash-3", "job_3", T0, T0.AddHours(1)), default));

        LedgerEntry? current = null;
        int purged = 0;
        await InTransactionAsync(store, async tx =>
        {
            purged = await tx.PurgeExpiredLedgerEntriesAsync(T0.AddDays(2), default);
            current = await tx.GetLedgerEntryAsync("local:test", "key", default);
        });

        Assert.Equal(1, purged);
        Assert.Equal("job_2", current!.Outcome);
        Assert.Equal("hash-2", current.RequestHash);
    }

    [Fact]
    public async Task Purging_events_raises_each_jobs_watermark_and_keeps_checkpoints()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, async tx =>
        {
            await tx.InsertJobAsync(NewJob("job_p"), default);
            await tx.InsertJobAsync(NewJob("job_q"), default);
            await tx.TryAppendEventAsync(Event("msg_old1", "job_p", null, T0.AddDays(-40)), default);
            await tx.TryAppendEventAsync(Event("msg_old2", "job_p", null, T0.AddDays(-35)), default);
            await tx.TryAppendEventAsync(Event("msg_oldsession", null, null, T0.AddDays(-35)), default);
            await tx.TryAppendEventAsync(Event("msg_new", "job_p", null, T0.AddDays(-1)), default);
            await tx.TryAppendEventAsync(Event("msg_q", "job_q", null, T0.AddDays(-1)), default);
            await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_p", "job_p", 0, "one", "msg_old1", "key", T0.AddDays(-40), "1"), default);
        });
        var old2 = (await store.FindEventAsync("msg_old2", default))!.Sequence;

        var purged = 0;
        await InTransactionAsync(store, async tx => purged = await tx.PurgeEventsAsync(T0.AddDays(-30), default));

        Assert.Equal(3, purged);
        Assert.Equal(old2, (await store.GetJobAsync("job_p", default))!.PurgedThroughSequence);
        Assert.Equal(0, (await store.GetJobAsync("job_q", default))!.PurgedThroughSequence);
        Assert.Equal(["msg_new"], (await store.ReadJobStreamAsync("job_p", 0, default)).Select(e => e.MessageId));
        Assert.Single(await store.ListCheckpointsAsync("job_p", default));
    }

    [Fact]
    public async Task Deleting_a_job_removes_its_stream_answers_checkpoints_and_ledger_entries_only()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, async tx =>
        {
            await tx.InsertJobAsync(NewJob("job_x") with { State = JobStates.Completed, UpdatedAt = T0.AddDays(-100) }, default);
            await tx.InsertJobAsync(NewJob("job_y"), default);
            await tx.TryAppendEventAsync(Event("msg_x1", "job_x", null), default);
            await tx.TryAppendEventAsync(Event("msg_x1_ack", null, "msg_x1"), default);
            await tx.TryAppendEventAsync(Event("msg_y1", "job_y", null), default);
            await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_x", "job_x", 0, "one", "msg_x1", "key", T0, "1"), default);
            await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_y", "job_y", 0, "one", "msg_y1", "key", T0, "1"), default);
            await tx.InsertLedgerEntryAsync(new LedgerEntry("local:test", "start-x", "h", "job_x", T0, null), default);
        });

        IReadOnlyList<string> finished = [];
        JobDeletion? deletion = null;
        await InTransactionAsync(store, async tx =>
        {
            finished = await tx.ListFinishedJobsAsync(T0.AddDays(-90), default);
            deletion = await tx.DeleteJobAsync("job_x", default);
        });

        Assert.Equal(["job_x"], finished);
        Assert.Equal(new JobDeletion(2, 1, 1), deletion);
        Assert.Null(await store.GetJobAsync("job_x", default));
        Assert.Empty(await store.ListCheckpointsAsync("job_x", default));
        Assert.Null(await store.FindEventAsync("msg_x1_ack", default));
        Assert.NotNull(await store.GetJobAsync("job_y", default));
        Assert.Single(await store.ReadJobStreamAsync("job_y", 0, default));
        Assert.Single(await store.ListCheckpointsAsync("job_y", default));
    }

    [Fact]
    public async Task Processes_opening_a_new_store_at_once_all_get_the_latest_schema()
    {
        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(OpenAsync)));
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }

        await using var again = await OpenAsync();
        await InTransactionAsync(again, tx => tx.InsertJobAsync(NewJob("job_s"), default));
        Assert.NotNull(await again.GetJobAsync("job_s", default));
    }

    [Fact]
    public async Task A_store_with_only_the_first_schema_is_upgraded_with_its_data_intact()
    {
        await CreateFirstSchemaAsync();
        await ExecuteSqlAsync(
            "INSERT INTO jobs (job_id, principal, workflow, state, inputs, created_at, updated_at) " +
            "VALUES ('job_v1', 'local:test', 'counting', 'running', '{\"n\":1}', '2026-01-01T00:00:00.0000000Z', '2026-01-01T00:00:00.0000000Z');");
        await ExecuteSqlAsync(
            "INSERT INTO checkpoints (checkpoint_id, job_id, step_index, step, message_id, idempotency_key, created_at, output) " +
            "VALUES ('chk_v1', 'job_v1', 0, 'one', 'msg_v1', 'key-v1', '2026-01-01T00:00:00.0000000Z', '[1]');");

        await using var store = await OpenAsync();

        var job = await store.GetJobAsync("job_v1", default);
        Assert.Equal("{\"n\":1}", job!.Inputs);
        Assert.Equal(0, job.PurgedThroughSequence);
        Assert.Equal("[1]", (await store.FindCheckpointByKeyAsync("job_v1", "key-v1", default))!.Output);
        Assert.Equal(LatestSchemaVersion, Convert.ToInt32(await ExecuteSqlAsync("SELECT MAX(version) FROM schema_version;"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(MigrationCount, Convert.ToInt32(await ExecuteSqlAsync("SELECT COUNT(*) FROM schema_version;"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_step_output_is_stored_once_in_its_checkpoint_and_replayed_byte_for_byte()
    {
        // Characters outside ASCII and the BMP before and inside the output: the cut position must survive both encodings.
        const string Output = "{\"summary\":\"déjà vu 😀\",\"items\":[1,2,{\"deep\":true}]}";
        var frame = "{\"arcp\":\"1\",\"id\":\"msg_chk\",\"type\":\"job.checkpoint\",\"job_id\":\"job_once\",\"trace_id\":\"naïve 😀\",\"payload\":{\"checkpoint_id\":\"chk_once\",\"label\":\"one\",\"snapshot\":{\"step\":\"one\",\"step_index\":0,\"step_count\":1,\"output\":" + Output + ",\"definition_version\":\"v1\"}}}";
        await using var store = await OpenAsync();
        await InTransactionAsync(store, async tx =>
        {
            await tx.InsertJobAsync(NewJob("job_once"), default);
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_chk", "job.checkpoint", EventDirection.Inbound, "sess_1", "job_once", null, T0, frame), default));
            await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_once", "job_once", 0, "one", "msg_chk", "key-once", T0, "{\"normalised\":\"elsewhere\"}"), default);
        });

        var logged = (string)(await ExecuteSqlAsync("SELECT envelope FROM events WHERE message_id = 'msg_chk';"))!;
        Assert.DoesNotContain("déjà vu", logged, StringComparison.Ordinal);
        Assert.Equal(Output, (string)(await ExecuteSqlAsync("SELECT output FROM checkpoints WHERE checkpoint_id = 'chk_once';"))!);
        Assert.Equal(frame, Assert.Single(await store.ReadJobStreamAsync("job_once", 0, default)).Envelope);
        Assert.Equal(frame, (await store.FindEventAsync("msg_chk", default))!.Envelope);

        // Event retention takes the event; the output stays with the checkpoint.
        await InTransactionAsync(store, tx => tx.PurgeEventsAsync(T0.AddDays(1), default));
        Assert.Empty(await store.ReadJobStreamAsync("job_once", 0, default));
        Assert.Equal(Output, (await store.FindCheckpointByKeyAsync("job_once", "key-once", default))!.Output);
    }

    [Fact]
    public async Task A_checkpoint_with_a_taken_id_or_a_recorded_key_is_refused_and_its_event_keeps_its_output()
    {
        const string Output = "{\"kept\":true}";
        var frame = "{\"arcp\":\"1\",\"id\":\"msg_again\",\"type\":\"job.checkpoint\",\"job_id\":\"job_twice\",\"payload\":{\"checkpoint_id\":\"chk_first\",\"label\":\"one\",\"snapshot\":{\"step\":\"one\",\"step_index\":0,\"step_count\":1,\"output\":" + Output + "}}}";
        await using var store = await OpenAsync();
        await InTransactionAsync(store, async tx =>
        {
            await tx.InsertJobAsync(NewJob("job_twice"), default);
            Assert.True(await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_first", "job_twice", 0, "one", "msg_first", "key-one", T0, "1"), default));
        });

        await InTransactionAsync(store, async tx =>
        {
            // The frame's output is cut out as it is logged; refused checkpoints must not leave it cut when committed.
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_again", "job.checkpoint", EventDirection.Inbound, "sess_1", "job_twice", null, T0, frame), default));
            Assert.False(await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_first", "job_twice", 1, "two", "msg_again", "key-two", T0, Output), default));
            Assert.False(await tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_second", "job_twice", 0, "one", "msg_again", "key-one", T0, Output), default));
        });

        var recorded = Assert.Single(await store.ListCheckpointsAsync("job_twice", default));
        Assert.Equal(("chk_first", "1"), (recorded.CheckpointId, recorded.Output));
        Assert.Equal(frame, (string)(await ExecuteSqlAsync("SELECT envelope FROM events WHERE message_id = 'msg_again';"))!);
        Assert.Equal(frame, Assert.Single(await store.ReadJobStreamAsync("job_twice", 0, default)).Envelope);
    }

    [Fact]
    public async Task A_checkpoint_event_logged_before_the_upgrade_replays_unchanged()
    {
        const string Frame = "{\"arcp\":\"1\",\"id\":\"msg_old\",\"type\":\"job.checkpoint\",\"job_id\":\"job_old\",\"payload\":{\"checkpoint_id\":\"chk_old\",\"label\":\"one\",\"snapshot\":{\"step\":\"one\",\"step_index\":0,\"step_count\":1,\"output\":[1]}}}";
        await CreateFirstSchemaAsync();
        await ExecuteSqlAsync(
            "INSERT INTO jobs (job_id, principal, workflow, state, inputs, created_at, updated_at) " +
            "VALUES ('job_old', 'local:test', 'counting', 'running', '{}', '2026-01-01T00:00:00.0000000Z', '2026-01-01T00:00:00.0000000Z');");
        await ExecuteSqlAsync(
            "INSERT INTO events (message_id, type, direction, session_id, job_id, correlation_id, created_at, envelope) " +
            $"VALUES ('msg_old', 'job.checkpoint', 'in', 'sess_old', 'job_old', NULL, '2026-01-01T00:00:00.0000000Z', '{Frame}');");
        await ExecuteSqlAsync(
            "INSERT INTO checkpoints (checkpoint_id, job_id, step_index, step, message_id, idempotency_key, created_at, output) " +
            "VALUES ('chk_old', 'job_old', 0, 'one', 'msg_old', 'key-old', '2026-01-01T00:00:00.0000000Z', '[1]');");

        await using var store = await OpenAsync();

        Assert.Equal(Frame, Assert.Single(await store.ReadJobStreamAsync("job_old", 0, default)).Envelope);
        Assert.Equal("[1]", (await store.FindCheckpointByKeyAsync("job_old", "key-old", default))!.Output);
        Assert.Equal(LatestSchemaVersion, Convert.ToInt32(await ExecuteSqlAsync("SELECT MAX(version) FROM schema_version;"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_store_written_by_a_newer_schema_is_refused_and_left_unchanged()
    {
        await (await OpenAsync()).DisposeAsync();
        var future = LatestSchemaVersion + 1;
        await ExecuteSqlAsync($"INSERT INTO schema_version (version, description, applied_at) VALUES ({future}, '{future:0000}_future', '2026-01-01T00:00:00Z');");

        var refused = await Assert.ThrowsAsync<StoreException>(OpenAsync);

        Assert.Equal(StoreErrorKind.SchemaTooNew, refused.Kind);
        Assert.Contains($"schema version {future}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("newer", refused.Message, StringComparison.Ordinal);
        await ExecuteSqlAsync($"DELETE FROM schema_version WHERE version = {future};");
        await (await OpenAsync()).DisposeAsync();
    }

    [Fact]
    public async Task A_full_run_and_a_resume_after_an_interruption_record_every_step_once()
    {
        var workflow = new CountingWorkflow("counting", ThreeSteps);
        string jobId;
        await using (var first = await EmbeddedArcp.OpenAsync(await OpenAsync(), null, default))
        {
            using var stop = new StopAfter("one");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new StepRunner(first.Client).StartAsync(workflow.Definition, JsonValue.Create("in"), null, null, stop, stop.Token));
            jobId = stop.JobId!;
        }

        await using var second = await EmbeddedArcp.OpenAsync(await OpenAsync(), null, default);
        var result = await new StepRunner(second.Client).ResumeAsync(workflow.Definition, jobId, null, null, null, default);

        Assert.Equal(JobStates.Completed, result.State);
        Assert.Equal(["two", "three"], result.StepsRun);
        Assert.All(ThreeSteps, s => Assert.Equal(1, workflow.Runs[s]));
        Assert.Equal(ThreeSteps, (await second.Client.QueryCheckpointsAsync(jobId, null, default)).Select(c => c.Step));
        Assert.Null(result.DataLoss);
    }

    [Fact]
    public async Task Two_sessions_resuming_one_interrupted_job_at_once_get_one_claim_and_one_ABORTED_naming_the_owner()
    {
        var jobId = await InterruptedJobAsync(new CountingWorkflow("counting", ThreeSteps));
        await using var a = await EmbeddedArcp.OpenAsync(await OpenAsync(), null, default);
        await using var b = await EmbeddedArcp.OpenAsync(await OpenAsync(), null, default);

        var attempts = await Task.WhenAll(new[] { a, b }.Select(s => Task.Run(async () =>
        {
            try
            {
                await s.Client.ResumeAsync(jobId, null, null, default);
                return null;
            }
            catch (ArcpException ex)
            {
                return ex.Error;
            }
        })));

        var refused = Assert.Single(attempts, e => e is not null)!;
        Assert.Equal(ErrorCodes.Aborted, refused.Code);
        Assert.Contains($"process {Environment.ProcessId} on '{ProcessIdentity.Current.Host}'", refused.Message, StringComparison.Ordinal);
        Assert.Equal(ProcessIdentity.Current.Host, refused.Details!["owner"]!["host"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_runner_whose_lease_expired_and_was_claimed_elsewhere_records_nothing_more()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var options = new RuntimeOptions { Clock = clock };
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ran = new List<string>();
        var slow = new WorkflowDefinition("fenced", ThreeSteps.Select(s => new StepDefinition(s, async (context, ct) =>
        {
            lock (ran)
            {
                ran.Add(s);
            }

            if (s == "two")
            {
                entered.TrySetResult();
                await release.Task.WaitAsync(ct);
            }

            return JsonValue.Create(s);
        })).ToList());
        await using var a = await EmbeddedArcp.OpenAsync(await OpenAsync(), options, default);
        await using var b = await EmbeddedArcp.OpenAsync(await OpenAsync(), options, default);
        var running = new StepRunner(a.Client).StartAsync(slow, null, null, null, null, default);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var jobId = Assert.Single(await b.Client.QueryJobsAsync(new JobQueryPayload(), default)).JobId;

        clock.Advance(options.LeaseDuration + TimeSpan.FromSeconds(1));
        await b.Client.ResumeAsync(jobId, null, null, default);
        release.SetResult();
        var fenced = await Assert.ThrowsAsync<ArcpException>(() => running);

        Assert.Equal(ErrorCodes.PermissionDenied, fenced.Code);
        Assert.Equal(["one", "two"], ran);
        Assert.Equal(["one"], (await b.Client.QueryCheckpointsAsync(jobId, null, default)).Select(c => c.Step));
        var job = Assert.Single(await b.Client.QueryJobsAsync(new JobQueryPayload { JobId = jobId }, default));
        Assert.Equal(b.Client.SessionId, job.Owner!.SessionId);
    }

    [Fact]
    public async Task Resuming_into_purged_history_reports_DATA_LOSS_and_continues_from_the_latest_checkpoint()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow.AddDays(-40));
        var options = new RuntimeOptions { Clock = clock };
        var workflow = new CountingWorkflow("counting", ThreeSteps);
        string jobId;
        string purgedMessage;
        await using (var first = await EmbeddedArcp.OpenAsync(await OpenAsync(), options, default))
        {
            using var stop = new StopAfter("two");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new StepRunner(first.Client).StartAsync(workflow.Definition, JsonValue.Create("in"), null, null, stop, stop.Token));
            jobId = stop.JobId!;
            purgedMessage = (await first.Client.QueryCheckpointsAsync(jobId, null, default))[0].MessageId;
        }

        await using (var maintenance = await OpenAsync())
        {
            var retention = await new JobService(maintenance, new JobServiceOptions()).ApplyRetentionAsync(new RetentionPolicy(TimeSpan.FromDays(30), TimeSpan.FromDays(90)), DateTimeOffset.UtcNow, apply: true, default);
            Assert.True(retention.EventsPurged > 0);
            Assert.Equal(0, retention.JobsRemoved);
        }

        clock.Advance(TimeSpan.FromDays(40));
        await using var second = await EmbeddedArcp.OpenAsync(await OpenAsync(), options, default);
        var fromPurged = await second.Client.ResumeAsync(jobId, purgedMessage, null, default);
        Assert.Equal(ErrorCodes.DataLoss, fromPurged.DataLoss!.Code);
        Assert.False(fromPurged.DataLoss.IsRetryable);

        var result = await new StepRunner(second.Client).ResumeAsync(workflow.Definition, jobId, null, null, null, default);

        Assert.Equal(ErrorCodes.DataLoss, result.DataLoss!.Code);
        Assert.Equal(JobStates.Completed, result.State);
        Assert.Equal("two", result.ResumedAfterStep);
        Assert.Equal(["three"], result.StepsRun);
        Assert.Equal("[\"in\",\"one\",\"two\",\"three\"]", ArcpJson.ToText(result.Result));
        Assert.Equal(ThreeSteps, (await second.Client.QueryCheckpointsAsync(jobId, null, default)).Select(c => c.Step));
    }

    [Fact]
    public async Task Removing_a_job_is_refused_while_its_owner_is_live_unless_forced()
    {
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hold = new WorkflowDefinition("held", [new StepDefinition("wait", async (_, ct) =>
        {
            blocked.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return null;
        })]);
        await using var owner = await EmbeddedArcp.OpenAsync(await OpenAsync(), null, default);
        using var stopOwner = new CancellationTokenSource();
        var running = new StepRunner(owner.Client).StartAsync(hold, null, null, null, null, stopOwner.Token);
        await blocked.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var jobId = Assert.Single(await owner.Client.QueryJobsAsync(new JobQueryPayload(), default)).JobId;
        await using var maintenance = await OpenAsync();

        var refused = await Assert.ThrowsAsync<ArcpException>(() => new JobService(maintenance, new JobServiceOptions()).RemoveJobAsync(jobId, force: false, DateTimeOffset.UtcNow, default));
        var removed = await new JobService(maintenance, new JobServiceOptions()).RemoveJobAsync(jobId, force: true, DateTimeOffset.UtcNow, default);
        await stopOwner.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);

        Assert.Equal(ErrorCodes.Aborted, refused.Code);
        Assert.Contains($"process {Environment.ProcessId}", refused.Message, StringComparison.Ordinal);
        Assert.True(removed.Events > 0);
        Assert.Null(await maintenance.GetJobAsync(jobId, default));
        var gone = await Assert.ThrowsAsync<ArcpException>(() => new JobService(maintenance, new JobServiceOptions()).RemoveJobAsync(jobId, force: false, DateTimeOffset.UtcNow, default));
        Assert.Equal(ErrorCodes.NotFound, gone.Code);
    }

    private async Task<string> InterruptedJobAsync(CountingWorkflow workflow)
    {
        await using var arcp = await EmbeddedArcp.OpenAsync(await OpenAsync(), null, default);
        using var stop = new StopAfter("one");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new StepRunner(arcp.Client).StartAsync(workflow.Definition, null, null, null, stop, stop.Token));
        return stop.JobId!;
    }

    protected static async Task InTransactionAsync(IArcpStore store, Func<IStoreTransaction, Task> work)
    {
        await using var tx = await store.BeginAsync(CommitDurability.Durable, default);
        await work(tx);
        await tx.CommitAsync(default);
    }

    protected static JobRecord NewJob(string jobId) => new()
    {
        JobId = jobId,
        Principal = "local:test",
        Workflow = "counting",
        State = JobStates.Running,
        Inputs = "null",
        CreatedAt = T0,
        UpdatedAt = T0,
    };

    private static EventDraft Event(string messageId, string? jobId, string? correlationId, DateTimeOffset? at = null) =>
        new(messageId, "job.progress", EventDirection.Outbound, "sess_1", jobId, correlationId, at ?? T0, $"{{\"id\":\"{messageId}\"}}");

    // PostgreSQL keeps microseconds, SQLite 100 ns ticks.
    private static void AssertClose(DateTimeOffset expected, DateTimeOffset actual) =>
        Assert.True((expected - actual).Duration() < TimeSpan.FromMilliseconds(1), $"Expected {expected:O}, got {actual:O}.");

    [Fact]
    public async Task Only_an_ended_session_reopens_and_only_for_its_own_principal()
    {
        await using var store = await OpenAsync();
        var session = new SessionRecord("sess_r", "alice", "first-client", "host-a", 11, T0);
        await InTransactionAsync(store, tx => tx.InsertSessionAsync(session, default));
        var reopenedWhileOpen = false;
        await InTransactionAsync(store, async tx => reopenedWhileOpen = await tx.ReopenSessionAsync(session, default));
        await InTransactionAsync(store, tx => tx.CloseSessionAsync("sess_r", T0.AddMinutes(1), default));

        var byOther = true;
        var byOwner = false;
        var twice = true;
        await InTransactionAsync(store, async tx => byOther = await tx.ReopenSessionAsync(session with { Principal = "bob" }, default));
        await InTransactionAsync(store, async tx => byOwner = await tx.ReopenSessionAsync(session with { ClientKind = "second-client", Host = "host-b", ProcessId = 22 }, default));
        await InTransactionAsync(store, async tx => twice = await tx.ReopenSessionAsync(session, default));

        Assert.False(reopenedWhileOpen);
        Assert.False(byOther);
        Assert.True(byOwner);
        Assert.False(twice);
        Assert.Equal(1L, Convert.ToInt64(await ExecuteSqlAsync("SELECT COUNT(*) FROM sessions WHERE session_id = 'sess_r' AND closed_at IS NULL;"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("host-b", await ExecuteSqlAsync("SELECT host FROM sessions WHERE session_id = 'sess_r';"));
    }
}

/// <summary>A clock tests move by hand, shared by runtimes to make leases expire on demand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref ticks, by.Ticks);
}

using System.Diagnostics;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;
using Arcp.Resumability.Store.Postgres;
using Npgsql;

namespace Arcp.Resumability.Tests.Store;

/// <summary>The store contract against a real PostgreSQL server; every test gets a schema of its own.</summary>
[Collection(PostgresTests.Name)]
public sealed class PostgresStoreContractTests(PostgresServer server) : StoreContractTests, IAsyncLifetime
{
    private string connectionString = string.Empty;

    protected override int LatestSchemaVersion => PostgresSchema.LatestVersion;

    protected override int MigrationCount => PostgresSchema.Migrations.Count;

    public async Task InitializeAsync() => connectionString = await server.CreateSchemaAsync();

    public async Task DisposeAsync() =>
        await ExecuteSqlAsync($"DROP SCHEMA {new NpgsqlConnectionStringBuilder(connectionString).SearchPath} CASCADE;");

    protected override Task<IArcpStore> OpenAsync() => StoreFactory.OpenAsync(connectionString, default);

    protected override async Task<object?> ExecuteSqlAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    [Fact]
    public async Task A_step_whose_commit_fails_records_nothing_and_leaves_the_store_usable()
    {
        await using var store = await OpenAsync();

        // A deferred constraint trigger fails at COMMIT, the statement that rides with the step's checkpoint.
        await ExecuteSqlAsync(
            "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$; " +
            "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON checkpoints DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();");
        var job = NewJob("job_sc") with { Lease = new JobLease("sess_1", "host-a", 7, T0, T0.AddMinutes(1)) };
        await InTransactionAsync(store, tx => tx.InsertJobAsync(job, default));

        await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
        {
            // Not a refusal the caller answers by recording the events one at a time: the store's failure, as the commit's.
            var failed = await Assert.ThrowsAsync<StoreException>(() => tx.TryRecordOwnerEventsAndCommitAsync(
                [new EventDraft("msg_sc", "job.checkpoint", EventDirection.Inbound, "sess_1", "job_sc", null, T0, StepCheckpointFrame)],
                new OwnerJobWrite("job_sc", job.Principal, job.Lease!, T0.AddSeconds(1)) { LastMessageId = "msg_sc", Checkpoint = new CheckpointRecord("chk_sc", "job_sc", 0, "one", "msg_sc", "key-sc", T0, "1") },
                0,
                default));
            Assert.IsType<PostgresException>(failed.InnerException);
            Assert.Contains("refused at commit", failed.Message, StringComparison.Ordinal);
        }

        Assert.Empty(await store.ListCheckpointsAsync("job_sc", default));
        Assert.Null(await store.FindEventAsync("msg_sc", default));
        Assert.Null((await store.GetJobAsync("job_sc", default))!.LastCheckpointId);

        // The connections went back to the pool idle: the next transactions on them run and commit.
        await ExecuteSqlAsync("DROP TRIGGER refuse_at_commit ON checkpoints;");
        for (var i = 0; i < 3; i++)
        {
            await InTransactionAsync(store, tx => tx.UpdateJobAsync(job with { Name = $"after {i}", UpdatedAt = T0.AddSeconds(i) }, default));
        }

        Assert.Equal("after 2", (await store.GetJobAsync("job_sc", default))!.Name);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_step_commits_in_one_request_whether_or_not_it_returned_an_output(bool withOutput)
    {
        await using var store = await OpenAsync();
        var lease = new JobLease("sess_1", "host-a", 7, T0, T0.AddMinutes(1));
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_sc") with { Lease = lease }, default));
        var frame = withOutput ? StepCheckpointFrame : StepCheckpointFrame[..StepCheckpointFrame.IndexOf(",\"output\":", StringComparison.Ordinal)] + "}}}";

        await using var tx = await store.BeginAsync(CommitDurability.Durable, default);
        var requests = await RequestsOfAsync(async () => Assert.NotNull(await tx.TryRecordOwnerEventsAndCommitAsync(
            [
                new EventDraft("msg_sp", "job.progress", EventDirection.Inbound, "sess_1", "job_sc", null, T0, "{\"progress\":1}"),
                new EventDraft("msg_sc", "job.checkpoint", EventDirection.Inbound, "sess_1", "job_sc", null, T0, frame),
            ],
            new OwnerJobWrite("job_sc", "local:test", lease, T0.AddSeconds(5)) { LastMessageId = "msg_sc", Checkpoint = new CheckpointRecord("chk_sc", "job_sc", 0, "one", "msg_sc", "key-sc", T0, "null") },
            0,
            default)));

        // The events, the job row with the checkpoint, the cancel scan and the COMMIT: one batch, one round trip, with
        // positional placeholders.
        Assert.DoesNotContain("@", Assert.Single(requests), StringComparison.Ordinal);
        Assert.Equal("chk_sc", (await store.GetJobAsync("job_sc", default))!.LastCheckpointId);
        Assert.Equal(withOutput ? StepOutput : "null", Assert.Single(await store.ListCheckpointsAsync("job_sc", default)).Output);
    }

    [Fact]
    public async Task A_claim_commits_in_the_request_that_claims()
    {
        await using var store = await OpenWithOneQueuedJobAsync();
        var claim = ClaimOfQueueQ;

        var transaction = await store.BeginAsync(CommitDurability.Durable, default);
        var outcome = default(QueueClaimOutcome);
        var requests = await RequestsOfAsync(async () => outcome = await transaction.TryClaimNextAndCommitAsync(claim, default));
        await transaction.DisposeAsync();

        // The queue's lock, the claim and the COMMIT: one batch, one round trip; committed, as another reader sees.
        // Sent with positional placeholders, which Npgsql does not parse (PositionalParameters).
        Assert.Contains("$1", Assert.Single(requests), StringComparison.Ordinal);
        Assert.DoesNotContain("@", requests[0], StringComparison.Ordinal);
        Assert.Equal("job_q", outcome!.Claimed?.JobId);
        Assert.Equal(JobStates.Running, (await store.GetJobAsync("job_q", default))!.State);
        Assert.Equal("wrk_1", await ExecuteSqlAsync("SELECT claimed_by FROM job_queue_entries WHERE job_id = 'job_q';"));

        // An empty queue's claim ends its transaction the same way, with nothing written.
        await using var empty = await store.BeginAsync(CommitDurability.Durable, default);
        Assert.Equal(new QueueClaimOutcome(null, Full: false, null), await empty.TryClaimNextAndCommitAsync(claim, default));
    }

    [Fact]
    public async Task A_claim_that_cannot_move_its_job_commits_nothing()
    {
        await using var store = await OpenWithOneQueuedJobAsync();
        // The job's move to running silently writes nothing, while the entry's mark does: half a claim.
        await ExecuteSqlAsync(
            "CREATE FUNCTION skip_job_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$; " +
            "CREATE TRIGGER skip_job_update BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION skip_job_update();");
        var claim = ClaimOfQueueQ;

        await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
        {
            Assert.Equal(StoreErrorKind.Corrupt, (await Assert.ThrowsAsync<StoreException>(() => tx.TryClaimNextAndCommitAsync(claim, default))).Kind);
        }

        // The COMMIT in the claim's batch did not run: the entry is still unclaimed, and a claim after the fix takes it.
        Assert.Equal(DBNull.Value, await ExecuteSqlAsync("SELECT claimed_at FROM job_queue_entries WHERE job_id = 'job_q';"));
        await ExecuteSqlAsync("DROP TRIGGER skip_job_update ON jobs;");
        await using var again = await store.BeginAsync(CommitDurability.Durable, default);
        Assert.Equal("job_q", (await again.TryClaimNextAndCommitAsync(claim, default)).Claimed?.JobId);
    }

    [Fact]
    public async Task The_cancel_scan_reads_the_cancel_index_not_the_jobs_events()
    {
        // Schema 11: a session's first cancel scan of a job starts at the stream's beginning; on a long job a pass over
        // its events was a resume cost that grew with the history (issue 12).
        await (await OpenAsync()).DisposeAsync();
        await ExecuteSqlAsync(
            "INSERT INTO events (message_id, type, direction, session_id, job_id, created_at, envelope) " +
            "SELECT 'msg_' || g, CASE WHEN g = 7 THEN 'cancel' ELSE 'job.progress' END, 'in', 'sess_1', 'job_long', now(), '{}' FROM generate_series(1, 5000) g; ANALYZE events;");

        var lines = await ExplainAsync(PostgresStoreTransaction.ScanCancelsSql.Replace("@job_id", "'job_long'", StringComparison.Ordinal).Replace("@after", "0", StringComparison.Ordinal), _ => { });

        Assert.Contains(lines, line => line.Contains("ix_events_job_cancels", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.Contains("Seq Scan", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_claim_reads_the_front_of_the_queue_from_the_index_without_sorting_the_backlog()
    {
        // Schema 12: the claim index of schema 8 lacks the job id that ends the claim order, so with 1,500 jobs queued
        // each claim joined and sorted all of them (about 2 ms a claim; issue 12).
        await (await OpenAsync()).DisposeAsync();
        await ExecuteSqlAsync(
            "INSERT INTO jobs (job_id, principal, workflow, state, inputs, created_at, updated_at) SELECT 'job_' || g, 'local:test', 'wf', 'queued', '{}', now(), now() FROM generate_series(1, 1500) g; " +
            "INSERT INTO job_queue_entries (job_id, queue, priority, enqueued_at) SELECT 'job_' || g, 'q', 0, now() + g * interval '1 ms' FROM generate_series(1, 1500) g; ANALYZE jobs; ANALYZE job_queue_entries;");

        var lines = await ExplainAsync(PostgresStoreTransaction.ClaimNextSql, parameters =>
        {
            parameters.AddWithValue("queue", "q");
            parameters.AddWithValue("slot_free", true);
            parameters.AddWithValue("now", T0);
            parameters.AddWithValue("since", T0);
            parameters.Add(new NpgsqlParameter("principal", NpgsqlTypes.NpgsqlDbType.Text) { Value = DBNull.Value });
            parameters.AddWithValue("any_workflow", true);
            parameters.Add(new NpgsqlParameter("workflows", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text) { Value = Array.Empty<string>() });
            parameters.AddWithValue("by", "worker");
            parameters.AddWithValue("lease_session_id", "sess_1");
            parameters.AddWithValue("lease_host", "host");
            parameters.AddWithValue("lease_process_id", 1);
            parameters.AddWithValue("lease_process_started", T0);
            parameters.AddWithValue("lease_expires_at", T0);
        });

        Assert.Contains(lines, line => line.Contains("Index Scan using ix_job_queue_entries_unclaimed", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.Contains("Sort", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.Contains("Seq Scan on job_queue_entries", StringComparison.Ordinal));
    }

    private static QueueClaim ClaimOfQueueQ => new("q", null, null, "wrk_1", new JobLease("wrk_1", "host-a", 7, T0, T0.AddMinutes(1)), T0.AddSeconds(1), T0);

    /// <summary>A store holding job <c>job_q</c>, queued on queue <c>q</c>.</summary>
    private async Task<IArcpStore> OpenWithOneQueuedJobAsync()
    {
        var store = await OpenAsync();
        await InTransactionAsync(store, async tx =>
        {
            await tx.InsertJobAsync(NewJob("job_q") with { State = JobStates.Queued }, default);
            await tx.InsertQueueEntryAsync(new QueueEntry("job_q", "q", 0, T0), default);
        });
        return store;
    }

    /// <summary>The statements Npgsql sent as requests (one per round trip) while <paramref name="work"/> ran.</summary>
    private static async Task<List<string>> RequestsOfAsync(Func<Task> work)
    {
        var requests = new List<string>();
        using var scope = new Activity("requests of interest").Start();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = request =>
            {
                if (request.TraceId == scope.TraceId)
                {
                    lock (requests)
                    {
                        requests.Add(request.GetTagItem("db.statement") as string ?? request.DisplayName);
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await work();
        scope.Stop();
        return requests;
    }

    /// <summary>The plan PostgreSQL chooses for <paramref name="sql"/> with the parameters <paramref name="bind"/> adds, one line per node.</summary>
    private async Task<List<string>> ExplainAsync(string sql, Action<NpgsqlParameterCollection> bind)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var explain = new NpgsqlCommand("EXPLAIN " + sql, connection);
        bind(explain.Parameters);
        await using var reader = await explain.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }

        return lines;
    }

    protected override async Task CreateFirstSchemaAsync()
    {
        await ExecuteSqlAsync("CREATE TABLE schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL);");
        await ExecuteSqlAsync(PostgresSchema.Migrations[0].Sql);
        await ExecuteSqlAsync($"INSERT INTO schema_version (version, description, applied_at) VALUES (1, '{PostgresSchema.Migrations[0].Name}', '2026-01-01T00:00:00Z');");
    }
}

using System.Text;
using Arcp.Resumability.Store;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Core;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Tests.Store;

/// <summary>
/// The SQLite store's step writes: positional statements bound from UTF-8 and the job update chosen from the row the
/// transaction read must store exactly what the named-parameter commands stored.
/// </summary>
public sealed class SqliteStepWriteTests : IDisposable
{
    // Text outside ASCII before the output, inside it and after it, so byte and UTF-16 positions differ everywhere.
    private const string Output = "{\"text\":\"é 😀 ü\",\"n\":[1,2]}";
    private const string Frame =
        "{\"arcp\":\"1\",\"id\":\"msg_cut\",\"type\":\"job.checkpoint\",\"job_id\":\"job_w\",\"trace_id\":\"naïve 😀\",\"payload\":{\"checkpoint_id\":\"chk_cut\"," +
        "\"label\":\"one\",\"snapshot\":{\"step\":\"one\",\"step_index\":0,\"step_count\":1,\"output\":" + Output + ",\"definition_version\":\"v1 ☃\"}}}";

    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TestStore files = new();

    [Fact]
    public void A_pooled_cut_holds_the_bytes_and_position_of_the_string_cut()
    {
        var expected = CheckpointOutputs.Cut(Frame)!.Value;

        using var cut = CutCheckpointFrame.Of(Frame);

        Assert.NotNull(cut);
        Assert.Equal(Encoding.UTF8.GetBytes(expected.Remainder), cut.Remainder.ToArray());
        Assert.Equal(Encoding.UTF8.GetBytes(expected.Output), cut.Output.ToArray());
        Assert.Equal(expected.At, cut.At);
        Assert.Null(CutCheckpointFrame.Of("{\"payload\":{\"snapshot\":{\"step\":\"one\"}}}"));
    }

    [Fact]
    public async Task A_checkpoint_logged_and_recorded_in_one_transaction_stores_the_cut_frame_and_output_byte_for_byte()
    {
        var expected = CheckpointOutputs.Cut(Frame)!.Value;
        await using (var store = await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None))
        {
            await using var tx = await store.BeginAsync(CommitDurability.Durable, CancellationToken.None);
            await tx.InsertJobAsync(Job(), CancellationToken.None);
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_cut", "job.checkpoint", EventDirection.Inbound, "sess_w", "job_w", null, T0, Frame), CancellationToken.None));
            var checkpoint = new CheckpointRecord("chk_cut", "job_w", 0, "one", "msg_cut", "key_0", T0, "ignored: the frame's own text is stored") { DefinitionVersion = "v1 ☃", Attempts = 1 };
            Assert.True(await tx.TryInsertCheckpointAsync(checkpoint, CancellationToken.None));
            await tx.CommitAsync(CancellationToken.None);
        }

        Assert.Equal(Hex(expected.Remainder), Scalar("SELECT hex(envelope) FROM events WHERE message_id = 'msg_cut';"));
        Assert.Equal((long)expected.At, Scalar("SELECT output_at FROM events WHERE message_id = 'msg_cut';"));
        Assert.Equal(Hex(expected.Output), Scalar("SELECT hex(output) FROM checkpoints WHERE checkpoint_id = 'chk_cut';"));
        Assert.Equal("text|text|integer|null|2026-11-01T12:00:00.0000000Z", Scalar("SELECT typeof(output) || '|' || typeof(definition_version) || '|' || typeof(attempts) || '|' || typeof(duration_ms) || '|' || created_at FROM checkpoints;"));
    }

    [Fact]
    public async Task Empty_text_is_stored_as_empty_text_not_null()
    {
        await using var store = await SqliteArcpStore.OpenAsync(files.Path, CancellationToken.None);
        await using (var tx = await store.BeginAsync(CommitDurability.Durable, CancellationToken.None))
        {
            Assert.True(await tx.TryAppendEventAsync(new EventDraft("msg_empty", "ping", EventDirection.Inbound, string.Empty, null, string.Empty, T0, "{}"), CancellationToken.None));
            await tx.CommitAsync(CancellationToken.None);
        }

        var stored = await store.FindEventAsync("msg_empty", CancellationToken.None);
        Assert.Equal(string.Empty, stored!.SessionId);
        Assert.Equal(string.Empty, stored.CorrelationId);
        Assert.Null(stored.JobId);
    }

    [Fact]
    public async Task An_update_after_the_transaction_read_the_row_writes_what_it_is_given_and_refuses_a_changed_identity()
    {
        await using var store = await SqliteArcpStore.OpenAsync(files.Path, TimeSpan.FromSeconds(10), ["PRAGMA wal_autocheckpoint = 0;"], CancellationToken.None);
        var lease = new JobLease("sess_w", "host", 42, T0, T0.AddMinutes(1));
        var job = Job() with { Lease = lease };
        await InTransactionAsync(store, tx => tx.InsertJobAsync(job, CancellationToken.None));

        // A step: only the page of the row is written.
        var stepped = job with { LastCheckpointId = "chk_1", LastMessageId = "msg_1", UpdatedAt = T0.AddSeconds(1), Lease = lease with { ExpiresAt = T0.AddMinutes(2) } };
        Assert.Equal(1, await WalFramesOfAsync(store, async tx =>
        {
            Assert.Equal(job, await tx.GetJobAsync("job_w", CancellationToken.None));
            await tx.UpdateJobAsync(stepped, CancellationToken.None);
        }));
        Assert.Equal(stepped, await store.GetJobAsync("job_w", CancellationToken.None));

        // A step, then the job's end, in one transaction: the second update starts from the row the first one wrote.
        var again = stepped with { LastMessageId = "msg_2", UpdatedAt = T0.AddSeconds(2) };
        var ended = again with { State = "completed", Result = "{}", Lease = null, UpdatedAt = T0.AddSeconds(3) };
        await InTransactionAsync(store, async tx =>
        {
            await tx.GetJobAsync("job_w", CancellationToken.None);
            await tx.UpdateJobAsync(again, CancellationToken.None);
            await tx.UpdateJobAsync(ended, CancellationToken.None);
        });
        Assert.Equal(ended, await store.GetJobAsync("job_w", CancellationToken.None));

        var refused = await Assert.ThrowsAsync<StoreException>(() => InTransactionAsync(store, async tx =>
        {
            await tx.GetJobAsync("job_w", CancellationToken.None);
            await tx.UpdateJobAsync(ended with { Inputs = "{\"other\":1}", UpdatedAt = T0.AddSeconds(4) }, CancellationToken.None);
        }));
        Assert.Equal(StoreErrorKind.Corrupt, refused.Kind);

        var gone = await Assert.ThrowsAsync<StoreException>(() => InTransactionAsync(store, async tx =>
        {
            await tx.GetJobAsync("job_w", CancellationToken.None);
            await tx.DeleteJobAsync("job_w", CancellationToken.None);
            await tx.UpdateJobAsync(ended with { UpdatedAt = T0.AddSeconds(5) }, CancellationToken.None);
        }));
        Assert.Equal(StoreErrorKind.Corrupt, gone.Kind);
        Assert.Equal(ended, await store.GetJobAsync("job_w", CancellationToken.None));
    }

    public void Dispose() => files.Dispose();

    private static string Hex(string text) => Convert.ToHexString(Encoding.UTF8.GetBytes(text));

    private static JobRecord Job() => new()
    {
        JobId = "job_w",
        Principal = "p",
        Workflow = "w",
        State = "running",
        Inputs = "null",
        CreatedAt = T0,
        UpdatedAt = T0,
    };

    private static async Task InTransactionAsync(SqliteArcpStore store, Func<IStoreTransaction, Task> work)
    {
        await using var tx = await store.BeginAsync(CommitDurability.Durable, CancellationToken.None);
        await work(tx);
        await tx.CommitAsync(CancellationToken.None);
    }

    /// <summary>How many WAL frames (one per page changed) the commit of <paramref name="work"/> wrote; opened without automatic checkpoints, the log only grows.</summary>
    private async Task<long> WalFramesOfAsync(SqliteArcpStore store, Func<IStoreTransaction, Task> work)
    {
        const int FrameBytes = 24 + 4096;
        var before = new FileInfo(files.Path + "-wal").Length;
        await InTransactionAsync(store, work);
        return (new FileInfo(files.Path + "-wal").Length - before) / FrameBytes;
    }

    private object? Scalar(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = files.Path, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}

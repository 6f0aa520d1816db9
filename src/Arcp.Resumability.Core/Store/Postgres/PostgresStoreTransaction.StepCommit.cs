using Arcp.Resumability.Protocol;
using Npgsql;
using static Arcp.Resumability.Store.Postgres.PostgresValues;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>
/// A step's transaction in one round trip: its events, the job row written under the owner's fence together with the
/// checkpoint, the cancel scan and the <c>COMMIT</c> go to the server in one batch. What the single calls decide between
/// round trips (is each event new, is the job still the owner's, is the checkpoint fresh) each statement decides here by
/// failing, which stops the batch before the <c>COMMIT</c>: a refusal commits nothing.
/// </summary>
internal sealed partial class PostgresStoreTransaction
{
    // No ON CONFLICT: a logged message id must fail the batch, not be skipped while the rest commits.
    private const string InsertFreshEventSql =
        "INSERT INTO events (message_id, type, direction, session_id, job_id, correlation_id, created_at, envelope, output_at) " +
        "VALUES (@message_id, @type, @direction, @session_id, @job_id, @correlation_id, @created_at, @envelope, @output_at)";

    // The owner's job write for each shape of event, indexed by OwnerJobWriteShape: built once, so the server keeps
    // each prepared on the pooled connections.
    private static readonly string[] OwnerJobWriteSql = [.. Enumerable.Range(0, 8).Select(OwnerJobWriteSqlFor)];

    public Task<OwnerEventsRecorded?> TryRecordOwnerEventsAndCommitAsync(IReadOnlyList<EventDraft> drafts, OwnerJobWrite write, long? cancelsAfterSequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(drafts);
        ArgumentNullException.ThrowIfNull(write);
        var cuts = drafts.Select(CheckpointOutputs.CutEvent).ToList();
        if (held.Count > 0 || loggedCheckpointEvent is not null || !TryTakeCheckpointOutput(drafts, cuts, write.Checkpoint, out var output))
        {
            // Not a step's shape (writes already waiting, a checkpoint event logged earlier, or its output not cut from
            // this batch's own event): the single calls keep the output bookkeeping right.
            return OwnerEventsInTurn.RecordAndCommitAsync(this, drafts, write, cancelsAfterSequence, cancellationToken);
        }

        return GuardAsync(location, async () =>
        {
            await using var batch = new NpgsqlBatch(connection, transaction);
            if (localCommitPending)
            {
                localCommitPending = false;
                batch.BatchCommands.Add(new NpgsqlBatchCommand(LocalCommitSql));
            }

            for (var i = 0; i < drafts.Count; i++)
            {
                var insert = new NpgsqlBatchCommand(InsertFreshEventSql);
                BindEvent(insert.Parameters, drafts[i], cuts[i]);
                batch.BatchCommands.Add(insert);
            }

            // After the appends, as the single calls run: the update takes the job's lock, so the scan that follows sees
            // every cancel committed before it (a cancel takes the same lock to be recorded).
            batch.BatchCommands.Add(OwnerJobWriteCommand(write, output));
            if (cancelsAfterSequence is { } after)
            {
                var scan = new NpgsqlBatchCommand(ScanCancelsSql);
                Text(scan.Parameters, "job_id", write.JobId);
                Bigint(scan.Parameters, "after", after);
                batch.BatchCommands.Add(scan);
            }

            batch.BatchCommands.Add(new NpgsqlBatchCommand(CommitSql));
            var last = cancelsAfterSequence ?? 0;
            long cancels = 0;
            try
            {
                var reader = await batch.Positional().ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    // The inserts return no rows: the first result is the job write's, the next the scan's. Every result
                    // is read, so a failing COMMIT surfaces here.
                    if (cancelsAfterSequence is { } scanned && await reader.NextResultAsync(cancellationToken).ConfigureAwait(false) && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        (last, cancels) = (reader.IsDBNull(0) ? scanned : reader.GetInt64(0), reader.GetInt64(1));
                    }

                    while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
                    {
                    }
                }
            }
            catch (PostgresException ex) when (IsRefusal(ex))
            {
                // Rolled back when the transaction is disposed; the caller's single calls say which refusal it was.
                return null;
            }

            // Committed: the cancels found are read outside the transaction, which has ended; they are committed rows.
            var found = cancels == 0 ? [] : await ReadCancelsAsync(null, write.JobId, cancelsAfterSequence ?? 0, last, cancellationToken).ConfigureAwait(false);
            await FinishAsync().ConfigureAwait(false);
            return new OwnerEventsRecorded(found, last);
        });
    }

    /// <summary>
    /// Whether outputs move as a step's do: a checkpoint's output is cut from its own event in <paramref name="drafts"/>
    /// (the batch's one cut, given out as <paramref name="output"/>), and a batch without a checkpoint cuts none.
    /// </summary>
    /// <remarks>
    /// A step that returned nothing sends its checkpoint event without an output: nothing is cut, and the row keeps the
    /// output it was recorded with, as the single calls store it. Such a step commits in one request too; it used to
    /// take the single calls: four round trips instead of one, and three statements more.
    /// </remarks>
    private static bool TryTakeCheckpointOutput(IReadOnlyList<EventDraft> drafts, List<(string Remainder, int At, string Output)?> cuts, CheckpointRecord? checkpoint, out string? output)
    {
        output = null;
        var cutAt = cuts.FindIndex(c => c is not null);
        if (checkpoint is null)
        {
            return cutAt < 0;
        }

        if (cutAt < 0)
        {
            output = checkpoint.Output;
            return drafts.Any(d => d.Type == MessageTypes.JobCheckpoint && d.MessageId == checkpoint.MessageId);
        }

        if (cuts.FindLastIndex(c => c is not null) != cutAt || drafts[cutAt].MessageId != checkpoint.MessageId)
        {
            return false;
        }

        output = cuts[cutAt]!.Value.Output;
        return true;
    }

    // A logged message id, a taken checkpoint id or recorded step key (unique keys of events and checkpoints), or a job
    // row the fenced update missed (the division by zero of OwnerJobWriteSqlFor).
    private static bool IsRefusal(PostgresException exception) =>
        exception is { SqlState: PostgresErrorCodes.UniqueViolation, TableName: "events" or "checkpoints" } or { SqlState: PostgresErrorCodes.DivisionByZero };

    private static NpgsqlBatchCommand OwnerJobWriteCommand(OwnerJobWrite write, string? checkpointOutput)
    {
        var command = new NpgsqlBatchCommand(OwnerJobWriteSql[OwnerJobWriteShape(write)]);
        var p = command.Parameters;
        Text(p, "job_id", write.JobId);
        Text(p, "principal", write.Principal);
        Text(p, "holder", write.Lease.SessionId);
        Time(p, "updated_at", write.UpdatedAt);
        var lease = write.TerminalState is null ? write.Lease : null;
        Text(p, "lease_session_id", lease?.SessionId);
        Text(p, "lease_host", lease?.Host);
        Integer(p, "lease_process_id", lease?.ProcessId);
        Time(p, "lease_process_started", lease?.ProcessStartedAt);
        Time(p, "lease_expires_at", lease?.ExpiresAt);
        if (write.LastMessageId is { } messageId)
        {
            Text(p, "last_message_id", messageId);
        }

        if (write.Checkpoint is { } checkpoint)
        {
            Text(p, "last_checkpoint_id", checkpoint.CheckpointId);
            BindCheckpoint(p, checkpoint with { Output = checkpointOutput! });
        }

        if (write.TerminalState is { } state)
        {
            Text(p, "state", state);
            Text(p, "result", write.Result);
            Text(p, "error", write.Error);
        }

        return command;
    }

    private static int OwnerJobWriteShape(OwnerJobWrite write) =>
        (write.LastMessageId is null ? 0 : 1) | (write.Checkpoint is null ? 0 : 2) | (write.TerminalState is null ? 0 : 4);

    /// <summary>
    /// The fenced update of the job row (only the owner's, unended job matches; a miss fails the statement by a division
    /// by zero) and, for a checkpoint, its insert, which a unique key refuses by failing.
    /// </summary>
    private static string OwnerJobWriteSqlFor(int shape)
    {
        var sets = "updated_at = @updated_at, lease_session_id = @lease_session_id, lease_host = @lease_host, lease_process_id = @lease_process_id, " +
            "lease_process_started = @lease_process_started, lease_expires_at = @lease_expires_at" +
            ((shape & 1) != 0 ? ", last_message_id = @last_message_id" : string.Empty) +
            ((shape & 2) != 0 ? ", last_checkpoint_id = @last_checkpoint_id" : string.Empty) +
            ((shape & 4) != 0 ? ", state = @state, result = @result, error = @error" : string.Empty);
        var update = $"UPDATE jobs SET {sets} WHERE job_id = @job_id AND principal = @principal AND lease_session_id = @holder " +
            "AND state NOT IN ('completed', 'failed', 'cancelled') RETURNING 1";
        var insert = (shape & 2) != 0 ? $", inserted AS (INSERT INTO checkpoints ({CheckpointColumns}) VALUES ({CheckpointValues}) RETURNING 1)" : string.Empty;
        return $"WITH updated AS ({update}){insert} SELECT 1 / COUNT(*)::integer FROM updated";
    }
}

using Arcp.Resumability.Protocol;
using Npgsql;
using static Arcp.Resumability.Store.Postgres.PostgresValues;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>
/// What a step writes: its events, its checkpoint with the output stored once, and the cancel scan of its job, as single
/// calls (the events with the job's lock and the scan in one batch, the checkpoint with the job row in one statement);
/// the step's own path sends them all with its commit (see StepCommit).
/// </summary>
internal sealed partial class PostgresStoreTransaction
{
    // The job.checkpoint event this transaction just logged with its output already cut out (see CheckpointOutputs),
    // so recording its checkpoint takes the output from here instead of reading and rewriting the event (one statement
    // fewer per step, as on SQLite). A checkpoint event left without its checkpoint row gets its output back before the commit.
    private (string MessageId, string Envelope, string Output)? loggedCheckpointEvent;

    private const string InsertEventSql =
        "INSERT INTO events (message_id, type, direction, session_id, job_id, correlation_id, created_at, envelope, output_at) " +
        "VALUES (@message_id, @type, @direction, @session_id, @job_id, @correlation_id, @created_at, @envelope, @output_at) ON CONFLICT (message_id) DO NOTHING";

    // The stream's last sequence and its cancel requests after @after: two index lookups (schema 11), not a pass over
    // the job's events after @after, since a session's first scan of a job starts at 0.
    internal const string ScanCancelsSql =
        "SELECT (SELECT MAX(sequence) FROM events WHERE job_id = @job_id AND sequence > @after), " +
        "(SELECT COUNT(*) FROM events WHERE job_id = @job_id AND sequence > @after AND type = 'cancel' AND direction = 'in')";

    // The checkpoint's parameters carry a prefix, so the statement that also updates the job can bind both.
    private const string CheckpointValues =
        "@c_checkpoint_id, @c_job_id, @c_step_index, @c_step, @c_message_id, @c_idempotency_key, @c_created_at, @c_output, @c_definition_version, @c_started_at, @c_attempts, @c_duration_ms";

    private const string InsertCheckpointSql = $"INSERT INTO checkpoints ({CheckpointColumns}) VALUES ({CheckpointValues}) ON CONFLICT DO NOTHING";

    public Task<bool> TryAppendEventAsync(EventDraft draft, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            var cut = CheckpointOutputs.CutEvent(draft);
            // ON CONFLICT instead of catching the violation: an error would abort the whole transaction.
            await using var command = Command(InsertEventSql);
            BindEvent(command.Parameters, draft, cut);
            var appended = await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
            if (appended && cut is { } taken)
            {
                RestoreUnrecordedOutput();
                loggedCheckpointEvent = (draft.MessageId, draft.Envelope, taken.Output);
            }

            return appended;
        }, cancellationToken);

    public Task AppendEventAsync(EventDraft draft, CancellationToken cancellationToken)
    {
        if (draft.Type == MessageTypes.JobCheckpoint)
        {
            // A checkpoint event's output bookkeeping needs to know whether it went in (its output is cut there).
            return TryAppendEventAsync(draft, cancellationToken);
        }

        var insert = new NpgsqlBatchCommand(InsertEventSql);
        BindEvent(insert.Parameters, draft, null);
        Hold(insert);
        return Task.CompletedTask;
    }

    public Task<JobEventsAppended?> TryAppendJobEventsAsync(IReadOnlyList<EventDraft> drafts, string jobId, long? cancelsAfterSequence, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            ArgumentNullException.ThrowIfNull(drafts);
            var cuts = drafts.Select(CheckpointOutputs.CutEvent).ToList();
            if (loggedCheckpointEvent is not null || cuts.Count(c => c is not null) > 1)
            {
                // Not what a step sends (its one checkpoint event comes last, after any progress): the single
                // statements keep the output bookkeeping of several checkpoint events right.
                return await JobEventsInTurn.AppendAsync(this, drafts, jobId, cancelsAfterSequence, cancellationToken).ConfigureAwait(false);
            }

            // One round trip: the appends, then the job's lock and the cancel scan, in this order as separate
            // statements would run (the scan, after the lock, sees every cancel committed before this transaction
            // holds the job: a cancel takes the job's lock to be recorded, so none can follow until the commit).
            await using var batch = new NpgsqlBatch(connection, transaction);
            for (var i = 0; i < drafts.Count; i++)
            {
                var insert = new NpgsqlBatchCommand(InsertEventSql);
                BindEvent(insert.Parameters, drafts[i], cuts[i]);
                batch.BatchCommands.Add(insert);
            }

            var lockJob = new NpgsqlBatchCommand(LockJobSql);
            Text(lockJob.Parameters, "job_id", jobId);
            batch.BatchCommands.Add(lockJob);
            if (cancelsAfterSequence is { } after)
            {
                var scan = new NpgsqlBatchCommand(ScanCancelsSql);
                Text(scan.Parameters, "job_id", jobId);
                Bigint(scan.Parameters, "after", after);
                batch.BatchCommands.Add(scan);
            }

            if (localCommitPending)
            {
                localCommitPending = false;
                batch.BatchCommands.Add(new NpgsqlBatchCommand(LocalCommitSql));
            }

            JobRecord? job = null;
            var last = cancelsAfterSequence ?? 0;
            long cancels = 0;
            var reader = await batch.Positional().ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                // The inserts return no rows: the first result is the job's, the second the scan's.
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    job = ReadJob(reader);
                }

                if (cancelsAfterSequence is { } scanned && await reader.NextResultAsync(cancellationToken).ConfigureAwait(false) && await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    (last, cancels) = (reader.IsDBNull(0) ? scanned : reader.GetInt64(0), reader.GetInt64(1));
                }
            }

            for (var i = 0; i < drafts.Count; i++)
            {
                if (batch.BatchCommands[i].RecordsAffected != 1)
                {
                    return null;
                }

                if (cuts[i] is { } taken)
                {
                    loggedCheckpointEvent = (drafts[i].MessageId, drafts[i].Envelope, taken.Output);
                }
            }

            return new JobEventsAppended(job, cancels == 0 ? [] : await ReadCancelsAsync(transaction, jobId, cancelsAfterSequence ?? 0, last, cancellationToken).ConfigureAwait(false), last);
        }, cancellationToken);

    public Task<bool> TryInsertCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            var (stored, cutLater) = await TakeOutputAsync(checkpoint, cancellationToken).ConfigureAwait(false);

            // The unique keys (checkpoint_id; job_id with idempotency_key) refuse a taken id or a recorded step; ON
            // CONFLICT rather than a violation, which would abort the whole transaction.
            await using var command = Command(InsertCheckpointSql + ";");
            BindCheckpoint(command.Parameters, stored);
            var inserted = await command.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
            if (inserted)
            {
                await OutputRecordedAsync(stored, cutLater, cancellationToken).ConfigureAwait(false);
            }

            // Not recorded: an event logged here without its output gets it back before any commit.
            return inserted;
        }, cancellationToken);

    public Task<bool> TryInsertCheckpointAndUpdateJobAsync(CheckpointRecord checkpoint, JobRecord job, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            var (stored, cutLater) = await TakeOutputAsync(checkpoint, cancellationToken).ConfigureAwait(false);

            // One statement, one round trip: the job row is written only when the checkpoint went in, both under
            // the same snapshot (the job's row is locked by this transaction already).
            await using var command = Command(
                $"WITH inserted AS ({InsertCheckpointSql} RETURNING 1), updated AS ({UpdateJobSql} AND EXISTS (SELECT 1 FROM inserted) RETURNING 1) " +
                "SELECT (SELECT COUNT(*) FROM inserted), (SELECT COUNT(*) FROM updated);");
            BindCheckpoint(command.Parameters, stored);
            BindJob(command, job);
            var (inserted, updated) = (await ReadAllAsync(command, r => (r.GetInt64(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false))[0];
            if (inserted != 1)
            {
                return false;
            }

            if (updated != 1)
            {
                throw JobChanged(job.JobId);
            }

            await OutputRecordedAsync(stored, cutLater, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task<(IReadOnlyList<StoredEvent> Cancels, long LastSequence)> ReadJobCancelsAsync(string jobId, long afterSequence, CancellationToken cancellationToken) =>
        RunAsync<(IReadOnlyList<StoredEvent>, long)>(async () =>
        {
            long last;
            long cancels;
            await using (var scan = Command(ScanCancelsSql))
            {
                Text(scan, "job_id", jobId);
                Bigint(scan, "after", afterSequence);
                (last, cancels) = (await ReadAllAsync(scan, r => (r.IsDBNull(0) ? afterSequence : r.GetInt64(0), r.GetInt64(1)), cancellationToken).ConfigureAwait(false))[0];
            }

            return (cancels == 0 ? [] : await ReadCancelsAsync(transaction, jobId, afterSequence, last, cancellationToken).ConfigureAwait(false), last);
        }, cancellationToken);

    /// <summary>Puts the output back into a checkpoint event logged without it whose checkpoint row was not recorded.</summary>
    private void RestoreUnrecordedOutput()
    {
        if (loggedCheckpointEvent is not { } unrecorded)
        {
            return;
        }

        loggedCheckpointEvent = null;
        var restore = new NpgsqlBatchCommand("UPDATE events SET envelope = @envelope, output_at = NULL WHERE message_id = @message_id");
        Text(restore.Parameters, "envelope", unrecorded.Envelope);
        Text(restore.Parameters, "message_id", unrecorded.MessageId);
        Hold(restore);
    }

    private static void BindEvent(NpgsqlParameterCollection parameters, EventDraft draft, (string Remainder, int At, string Output)? cut)
    {
        Text(parameters, "message_id", draft.MessageId);
        Text(parameters, "type", draft.Type);
        Text(parameters, "direction", draft.Direction == EventDirection.Inbound ? "in" : "out");
        Text(parameters, "session_id", draft.SessionId);
        Text(parameters, "job_id", draft.JobId);
        Text(parameters, "correlation_id", draft.CorrelationId);
        Time(parameters, "created_at", draft.CreatedAt);
        Text(parameters, "envelope", cut?.Remainder ?? draft.Envelope);
        Integer(parameters, "output_at", cut?.At);
    }

    private static void BindCheckpoint(NpgsqlParameterCollection parameters, CheckpointRecord checkpoint)
    {
        Text(parameters, "c_checkpoint_id", checkpoint.CheckpointId);
        Text(parameters, "c_job_id", checkpoint.JobId);
        Integer(parameters, "c_step_index", checkpoint.StepIndex);
        Text(parameters, "c_step", checkpoint.Step);
        Text(parameters, "c_message_id", checkpoint.MessageId);
        Text(parameters, "c_idempotency_key", checkpoint.IdempotencyKey);
        Time(parameters, "c_created_at", checkpoint.CreatedAt);
        Text(parameters, "c_output", checkpoint.Output);
        Text(parameters, "c_definition_version", checkpoint.DefinitionVersion);
        Time(parameters, "c_started_at", checkpoint.StartedAt);
        Integer(parameters, "c_attempts", checkpoint.Attempts);
        parameters.Add(new NpgsqlParameter("c_duration_ms", NpgsqlTypes.NpgsqlDbType.Bigint) { Value = (object?)checkpoint.DurationMs ?? DBNull.Value });
    }

    /// <summary>
    /// Stored once: the output moves from the checkpoint's event into its row. The event logged just before, in this
    /// transaction, was stored without it already; one logged earlier is read here (and rewritten once the row is in).
    /// </summary>
    private async Task<(CheckpointRecord Stored, (string Remainder, int At, string Output)? CutLater)> TakeOutputAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken)
    {
        if (loggedCheckpointEvent is { } logged && logged.MessageId == checkpoint.MessageId)
        {
            return (checkpoint with { Output = logged.Output }, null);
        }

        await using var read = Command("SELECT envelope FROM events WHERE message_id = @message_id AND type = 'job.checkpoint' AND output_at IS NULL;");
        Text(read, "message_id", checkpoint.MessageId);
        return await read.Positional().ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string envelope && CheckpointOutputs.Cut(envelope) is { } cut
            ? (checkpoint with { Output = cut.Output }, cut)
            : (checkpoint, null);
    }

    /// <summary>The checkpoint row holds the output now: its event keeps it cut out.</summary>
    private async Task OutputRecordedAsync(CheckpointRecord stored, (string Remainder, int At, string Output)? cutLater, CancellationToken cancellationToken)
    {
        if (loggedCheckpointEvent is { } logged && logged.MessageId == stored.MessageId)
        {
            loggedCheckpointEvent = null;
        }
        else if (cutLater is { } cut)
        {
            await using var update = Command("UPDATE events SET envelope = @envelope, output_at = @output_at WHERE message_id = @message_id;");
            Text(update, "envelope", cut.Remainder);
            Integer(update, "output_at", cut.At);
            Text(update, "message_id", stored.MessageId);
            await update.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <param name="inTransaction">This transaction, or null once it has committed (the cancels are committed rows then).</param>
    private async Task<IReadOnlyList<StoredEvent>> ReadCancelsAsync(NpgsqlTransaction? inTransaction, string jobId, long afterSequence, long last, CancellationToken cancellationToken)
    {
        await using var read = new NpgsqlCommand($"SELECT {EventColumns} FROM {EventSource} WHERE e.job_id = @job_id AND e.sequence > @after AND e.sequence <= @last AND e.type = 'cancel' AND e.direction = 'in' ORDER BY e.sequence;", connection, inTransaction);
        Text(read, "job_id", jobId);
        Bigint(read, "after", afterSequence);
        Bigint(read, "last", last);
        return await ReadAllAsync(read, ReadEvent, cancellationToken).ConfigureAwait(false);
    }
}

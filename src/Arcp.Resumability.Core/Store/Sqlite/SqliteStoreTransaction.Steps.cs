using Arcp.Resumability.Protocol;
using Microsoft.Data.Sqlite;
using static Arcp.Resumability.Store.Sqlite.SqliteValues;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>
/// What a step writes: its events (a checkpoint event's output cut out, see <see cref="CutCheckpointFrame"/>), its
/// checkpoint with the output stored once, and the cancel scan of its job, through statements prepared once for the
/// connection's life. In process, statements cost no round trip, so the composite calls are the single ones in turn.
/// </summary>
internal sealed partial class SqliteStoreTransaction
{
    // The step's writes: positional statements kept for the connection's life (see SqlitePositionalStatement).
    private const string InsertEventSql =
        "INSERT INTO events (message_id, type, direction, session_id, job_id, correlation_id, created_at, envelope, output_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9);";

    private const string InsertCheckpointSql =
        $"INSERT INTO checkpoints ({CheckpointColumns}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT DO NOTHING;";

    // The job.checkpoint event this transaction logged last, with its output already cut out (see CheckpointOutputs),
    // or whole when it had none (a step that returned nothing): recording its checkpoint takes the output from here, or
    // has none to take, instead of reading and rewriting the event. A checkpoint event left without its checkpoint row
    // gets its output back before the commit.
    private (string MessageId, string? Envelope, CutCheckpointFrame? Cut)? loggedCheckpointEvent;

    // The stream's last sequence and its cancel requests after $after: two index lookups (schema 11), not a pass over
    // the job's events after $after, since a session's first scan of a job starts at 0.
    internal const string ScanCancelsSql =
        "SELECT (SELECT MAX(sequence) FROM events WHERE job_id = $job_id AND sequence > $after), " +
        "(SELECT COUNT(*) FROM events WHERE job_id = $job_id AND sequence > $after AND type = 'cancel' AND direction = 'in');";

    public Task AppendEventAsync(EventDraft draft, CancellationToken cancellationToken) => TryAppendEventAsync(draft, cancellationToken);

    public Task<bool> TryAppendEventAsync(EventDraft draft, CancellationToken cancellationToken) =>
        Run(() =>
        {
            var cut = draft.Type == MessageTypes.JobCheckpoint && draft.Envelope is { } full ? CutCheckpointFrame.Of(full) : null;
            try
            {
                var insert = statements.Positional(InsertEventSql);
                insert.Bind(1, draft.MessageId);
                insert.Bind(2, draft.Type);
                insert.Bind(3, draft.Direction == EventDirection.Inbound ? "in" : "out");
                insert.Bind(4, draft.SessionId);
                insert.Bind(5, draft.JobId);
                insert.Bind(6, draft.CorrelationId);
                insert.Bind(7, draft.CreatedAt);
                if (cut is null)
                {
                    insert.Bind(8, draft.Envelope);
                    insert.BindNull(9);
                }
                else
                {
                    insert.Bind(8, cut.Remainder);
                    insert.Bind(9, cut.At);
                }

                insert.Execute();
                if (draft.Type == MessageTypes.JobCheckpoint)
                {
                    RestoreUnrecordedOutput();
                    loggedCheckpointEvent = (draft.MessageId, draft.Envelope, cut);
                    cut = null;
                }

                return true;
            }
            catch (SqliteException ex) when (ex.SqliteExtendedErrorCode is SqliteConstraintUnique or SqliteConstraintPrimaryKey)
            {
                return false;
            }
            finally
            {
                cut?.Dispose();
            }
        });

    public Task<bool> TryInsertCheckpointAsync(CheckpointRecord checkpoint, CancellationToken cancellationToken) =>
        Run(() =>
        {
            // Stored once: the output moves from the checkpoint's event into its row. The event logged just before, in
            // this transaction, was stored without it already (or had none); one logged earlier is read here and
            // rewritten once the row is in.
            var loggedHere = loggedCheckpointEvent is { } logged && logged.MessageId == checkpoint.MessageId;
            var cutHere = loggedHere ? loggedCheckpointEvent!.Value.Cut : null;
            (string Remainder, int At, string Output)? cutLater = null;
            if (!loggedHere)
            {
                var read = Command("SELECT envelope FROM events WHERE message_id = $message_id AND type = 'job.checkpoint' AND output_at IS NULL;");
                Add(read, "$message_id", checkpoint.MessageId);
                if (read.ExecuteScalar() is string envelope && CheckpointOutputs.Cut(envelope) is { } cut)
                {
                    cutLater = cut;
                    checkpoint = checkpoint with { Output = cut.Output };
                }
            }

            // The unique keys (checkpoint_id; job_id with idempotency_key) refuse a taken id or a recorded step.
            if (InsertCheckpointRow(checkpoint, cutHere) != 1)
            {
                // Not recorded: an event logged here without its output gets it back before any commit.
                return false;
            }

            if (loggedHere)
            {
                loggedCheckpointEvent = null;
                cutHere?.Dispose();
            }
            else if (cutLater is { } cut)
            {
                var update = Command("UPDATE events SET envelope = $envelope, output_at = $output_at WHERE message_id = $message_id;");
                Add(update, "$envelope", cut.Remainder);
                Add(update, "$output_at", cut.At);
                Add(update, "$message_id", checkpoint.MessageId);
                update.ExecuteNonQuery();
            }

            return true;
        });

    // In process, statements cost no round trip: these are the single ones in turn.
    public Task<JobEventsAppended?> TryAppendJobEventsAsync(IReadOnlyList<EventDraft> drafts, string jobId, long? cancelsAfterSequence, CancellationToken cancellationToken) =>
        JobEventsInTurn.AppendAsync(this, drafts, jobId, cancelsAfterSequence, cancellationToken);

    public async Task<bool> TryInsertCheckpointAndUpdateJobAsync(CheckpointRecord checkpoint, JobRecord job, CancellationToken cancellationToken)
    {
        if (!await TryInsertCheckpointAsync(checkpoint, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        await UpdateJobAsync(job, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public Task<OwnerEventsRecorded?> TryRecordOwnerEventsAndCommitAsync(IReadOnlyList<EventDraft> drafts, OwnerJobWrite write, long? cancelsAfterSequence, CancellationToken cancellationToken) =>
        OwnerEventsInTurn.RecordAndCommitAsync(this, drafts, write, cancelsAfterSequence, cancellationToken);

    public Task<(IReadOnlyList<StoredEvent> Cancels, long LastSequence)> ReadJobCancelsAsync(string jobId, long afterSequence, CancellationToken cancellationToken) =>
        Run<(IReadOnlyList<StoredEvent>, long)>(() =>
        {
            var scan = Command(ScanCancelsSql);
            Add(scan, "$job_id", jobId);
            Add(scan, "$after", afterSequence);
            var (last, cancels) = SqliteArcpStore.ReadAll(scan, r => (r.IsDBNull(0) ? afterSequence : r.GetInt64(0), r.GetInt64(1)))[0];
            if (cancels == 0)
            {
                return ([], last);
            }

            var read = Command($"SELECT {EventColumns} FROM {EventSource} WHERE e.job_id = $job_id AND e.sequence > $after AND e.sequence <= $last AND e.type = 'cancel' AND e.direction = 'in' ORDER BY e.sequence;");
            Add(read, "$job_id", jobId);
            Add(read, "$after", afterSequence);
            Add(read, "$last", last);
            return (SqliteArcpStore.ReadAll(read, ReadEvent), last);
        });

    /// <summary>Puts the output back into a checkpoint event logged without it whose checkpoint row was not recorded.</summary>
    private void RestoreUnrecordedOutput()
    {
        var logged = loggedCheckpointEvent;
        loggedCheckpointEvent = null;
        if (logged is not { Cut: { } cut } unrecorded)
        {
            return;
        }

        cut.Dispose();
        var restore = Command("UPDATE events SET envelope = $envelope, output_at = NULL WHERE message_id = $message_id;");
        Add(restore, "$envelope", unrecorded.Envelope);
        Add(restore, "$message_id", unrecorded.MessageId);
        restore.ExecuteNonQuery();
    }

    /// <summary>Inserts the checkpoint row, its output taken from <paramref name="cut"/> when its event was logged here.</summary>
    private int InsertCheckpointRow(CheckpointRecord checkpoint, CutCheckpointFrame? cut)
    {
        var insert = statements.Positional(InsertCheckpointSql);
        insert.Bind(1, checkpoint.CheckpointId);
        insert.Bind(2, checkpoint.JobId);
        insert.Bind(3, checkpoint.StepIndex);
        insert.Bind(4, checkpoint.Step);
        insert.Bind(5, checkpoint.MessageId);
        insert.Bind(6, checkpoint.IdempotencyKey);
        insert.Bind(7, checkpoint.CreatedAt);
        if (cut is null)
        {
            insert.Bind(8, checkpoint.Output);
        }
        else
        {
            insert.Bind(8, cut.Output);
        }

        insert.Bind(9, checkpoint.DefinitionVersion);
        insert.Bind(10, checkpoint.StartedAt);
        insert.Bind(11, checkpoint.Attempts);
        insert.Bind(12, checkpoint.DurationMs);
        return insert.Execute();
    }
}

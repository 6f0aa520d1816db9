using Npgsql;
using static Arcp.Resumability.Store.Postgres.PostgresValues;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>
/// Writes whose outcome nothing decides on before the commit (the job row, an outbound event) are held back and sent
/// with the transaction's next statement or with its <c>COMMIT</c>, in one round trip: a resume's claim costs two round
/// trips, a logged answer one (a step's own transaction is one batch of its own, see StepCommit). Held writes still run
/// before anything this transaction reads or writes next, in the order they were asked for, so what it reads sees them. A held write that
/// fails stops the batch before the <c>COMMIT</c> (the server skips what follows an error until the batch's end), so
/// the failure surfaces from that next call or from <see cref="CommitAsync"/> with nothing committed.
/// </summary>
internal sealed partial class PostgresStoreTransaction
{
    private const string CommitSql = "COMMIT";

    private readonly List<HeldWrite> held = [];

    public Task CommitAsync(CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            RestoreUnrecordedOutput();
            if (held.Count == 0)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // COMMIT as the batch's last statement: the server commits (and, with synchronous_commit = on, waits for
                // the WAL flush) before it answers, as for NpgsqlTransaction.CommitAsync. The connection is idle after it,
                // so disposing the transaction rolls nothing back; after a failure it is not, and disposing rolls back.
                await SendHeldAsync(new NpgsqlBatchCommand(CommitSql), cancellationToken).ConfigureAwait(false);
            }

            await FinishAsync().ConfigureAwait(false);
            return true;
        });

    /// <summary>Runs <paramref name="work"/>, a statement of this transaction, after the held writes.</summary>
    private Task<T> RunAsync<T>(Func<Task<T>> work, CancellationToken cancellationToken) =>
        GuardAsync(location, async () =>
        {
            if (held.Count > 0)
            {
                await SendHeldAsync(null, cancellationToken).ConfigureAwait(false);
            }

            return await work().ConfigureAwait(false);
        });

    /// <summary>
    /// Holds a write back. What it must check about its effect it checks in the statement, by failing: a check made
    /// once the batch has answered would come after the <c>COMMIT</c> riding with it.
    /// </summary>
    /// <param name="failed">What a failure of this write means to the caller, or null for the store's usual error.</param>
    private void Hold(NpgsqlBatchCommand command, Func<PostgresException, Exception?>? failed = null) => held.Add(new HeldWrite(command, failed));

    private async Task SendHeldAsync(NpgsqlBatchCommand? last, CancellationToken cancellationToken)
    {
        var writes = held.ToList();
        held.Clear();
        await using var batch = new NpgsqlBatch(connection, transaction);
        if (localCommitPending)
        {
            localCommitPending = false;
            batch.BatchCommands.Add(new NpgsqlBatchCommand(LocalCommitSql));
        }

        foreach (var write in writes)
        {
            batch.BatchCommands.Add(write.Command);
        }

        if (last is not null)
        {
            batch.BatchCommands.Add(last);
        }

        try
        {
            await batch.Positional().ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (writes.Find(w => ReferenceEquals(w.Command, ex.BatchCommand))?.Failed?.Invoke(ex) is { } meaning)
        {
            throw meaning;
        }
    }

    private sealed record HeldWrite(NpgsqlBatchCommand Command, Func<PostgresException, Exception?>? Failed);
}

using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Bench;

/// <summary>
/// The floor a checkpointed step is compared with: plain Microsoft.Data.Sqlite transactions writing the
/// envelope text of one step into a one-table database, with the store's settings (WAL, BEGIN IMMEDIATE,
/// no pooling) and a prepared insert.
/// </summary>
internal sealed class BareSqliteBenchmark : BareTransactionBenchmark
{
    private readonly SqliteConnection connection;
    private readonly SqliteCommand insert;
    private readonly SqliteParameter body;
    private readonly SqliteCommand full;
    private readonly SqliteCommand normal;
    private readonly Action transaction;

    /// <param name="splitCommits">
    /// False: both envelopes in one durable (synchronous=FULL) transaction, the headline comparison.
    /// True: what the store did before issue 12, the progress in a process-safe (NORMAL) commit, then the checkpoint in a durable (FULL) one.
    /// </param>
    public BareSqliteBenchmark(string path, string progress, string checkpoint, bool splitCommits)
    {
        connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        connection.Open();
        Execute("PRAGMA journal_mode = WAL;");
        Execute("PRAGMA synchronous = FULL;");
        Execute("CREATE TABLE records (id INTEGER PRIMARY KEY, body TEXT NOT NULL);");
        insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO records (body) VALUES ($body);";
        body = insert.Parameters.Add("$body", SqliteType.Text);
        full = connection.CreateCommand();
        full.CommandText = "PRAGMA synchronous = FULL;";
        normal = connection.CreateCommand();
        normal.CommandText = "PRAGMA synchronous = NORMAL;";
        if (splitCommits)
        {
            transaction = () =>
            {
                normal.ExecuteNonQuery();
                Commit(progress);
                full.ExecuteNonQuery();
                Commit(checkpoint);
            };
        }
        else
        {
            transaction = () => Commit(progress, checkpoint);
        }
    }

    public override void Dispose()
    {
        insert.Dispose();
        full.Dispose();
        normal.Dispose();
        connection.Dispose();
    }

    protected override void RunTransaction() => transaction();

    private void Commit(params string[] rows)
    {
        using var sqliteTransaction = connection.BeginTransaction(deferred: false);
        insert.Transaction = sqliteTransaction;
        foreach (var row in rows)
        {
            body.Value = row;
            insert.ExecuteNonQuery();
        }

        sqliteTransaction.Commit();
    }

    private void Execute(string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

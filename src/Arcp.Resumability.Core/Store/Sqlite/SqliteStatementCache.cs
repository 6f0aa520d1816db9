using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>
/// Prepared commands kept for the life of the store's connection. SQLite re-parses and re-plans the
/// SQL text of every new command, which was most of the cost of a checkpointed step; a reused command
/// keeps its prepared statements. Only used under the store's gate, so never concurrently.
/// </summary>
internal sealed class SqliteStatementCache(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SqlitePositionalStatement> positional = new(StringComparer.Ordinal);

    /// <summary>
    /// The command for <paramref name="sql"/>, bound to <paramref name="transaction"/>, with the parameters of its last
    /// run for <see cref="SqliteValues.Add"/> to set again.
    /// </summary>
    public SqliteCommand Get(string sql, SqliteTransaction? transaction)
    {
        if (!commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            commands[sql] = command;
        }

        command.Transaction = transaction;
        return command;
    }

    /// <summary>The statement for <paramref name="sql"/> (positional parameters), prepared on first use.</summary>
    public SqlitePositionalStatement Positional(string sql)
    {
        if (!positional.TryGetValue(sql, out var statement))
        {
            statement = SqlitePositionalStatement.Prepare(connection.Handle!, sql);
            positional[sql] = statement;
        }

        return statement;
    }

    public void Dispose()
    {
        foreach (var command in commands.Values)
        {
            command.Dispose();
        }

        // Finalized before the connection closes, which it could not do cleanly while they lived.
        foreach (var statement in positional.Values)
        {
            statement.Dispose();
        }

        commands.Clear();
        positional.Clear();
    }
}

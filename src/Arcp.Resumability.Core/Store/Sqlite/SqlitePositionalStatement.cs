using System.Globalization;
using System.Text;
using Arcp.Resumability.Protocol;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Arcp.Resumability.Store.Sqlite;

/// <summary>
/// A statement of the step's write path, prepared once for the life of the connection and bound by position from
/// UTF-8: a <see cref="SqliteCommand"/> copies each text parameter into a new UTF-8 array, boxes each number and
/// builds a reader per run, which was most of what a checkpointed step allocated in the store. Every run binds every
/// parameter; SQLite copies bound text, so no buffer is referenced once a bind returns. Failures leave as the
/// <see cref="SqliteException"/> the driver would have thrown, with the same codes.
/// </summary>
internal sealed class SqlitePositionalStatement : IDisposable
{
    // Text up to this many UTF-16 units is encoded on the stack; longer text in a pooled buffer.
    private const int StackChars = 128;

    private readonly sqlite3 connection;
    private readonly sqlite3_stmt statement;

    private SqlitePositionalStatement(sqlite3 connection, sqlite3_stmt statement)
    {
        this.connection = connection;
        this.statement = statement;
    }

    public static SqlitePositionalStatement Prepare(sqlite3 connection, string sql)
    {
        var result = raw.sqlite3_prepare_v3(connection, sql, raw.SQLITE_PREPARE_PERSISTENT, out var statement);
        if (result != raw.SQLITE_OK)
        {
            statement.Dispose();
            SqliteException.ThrowExceptionForRC(result, connection);
        }

        return new SqlitePositionalStatement(connection, statement);
    }

    public void BindNull(int index) => Check(raw.sqlite3_bind_null(statement, index));

    public void Bind(int index, string? value)
    {
        if (value is null)
        {
            BindNull(index);
        }
        else if (value.Length <= StackChars)
        {
            Span<byte> utf8 = stackalloc byte[StackChars * 3];
            Bind(index, utf8[..Encoding.UTF8.GetBytes(value, utf8)]);
        }
        else
        {
            using var utf8 = new PooledUtf8(value);
            Bind(index, utf8.Span);
        }
    }

    public void Bind(int index, ReadOnlySpan<byte> utf8) => Check(raw.sqlite3_bind_text(statement, index, utf8));

    public void Bind(int index, long? value) =>
        Check(value is { } number ? raw.sqlite3_bind_int64(statement, index, number) : raw.sqlite3_bind_null(statement, index));

    /// <summary>Binds the text <see cref="SqliteValues.Time"/> makes of <paramref name="value"/>, formatted straight into UTF-8.</summary>
    public void Bind(int index, DateTimeOffset? value)
    {
        if (value is not { } time)
        {
            BindNull(index);
            return;
        }

        Span<byte> utf8 = stackalloc byte[40];
        if (!time.UtcDateTime.TryFormat(utf8, out var written, "O", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("A round-trip UTC time did not fit its buffer.");
        }

        Bind(index, utf8[..written]);
    }

    /// <summary>Runs the statement once and resets it for the next run.</summary>
    /// <returns>The rows it changed.</returns>
    public int Execute()
    {
        try
        {
            var result = raw.sqlite3_step(statement);
            if (result != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(result, connection);
            }

            return raw.sqlite3_changes(connection);
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    public void Dispose() => statement.Dispose();

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(result, connection);
        }
    }
}

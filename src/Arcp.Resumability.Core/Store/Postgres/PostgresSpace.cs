using Npgsql;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>
/// Reclaims the space of deleted rows in the store's tables (those of its schema, the first of the search path).
/// Autovacuum already makes it reusable in time; a plain <c>VACUUM</c> does so at once, <c>VACUUM FULL</c> rewrites each
/// table and returns the space to the file system, holding an exclusive lock on the table while it runs.
/// </summary>
internal static class PostgresSpace
{
    // The tables the store itself keeps large; a table of another schema or application is never touched.
    private static readonly string[] Tables = ["events", "checkpoints", "jobs", "sessions", "idempotency_ledger"];

    private const string StoreTables = "FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY(@tables)";

    public static async Task<StoreSpace> ReclaimAsync(NpgsqlDataSource dataSource, bool compact, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var before = await SizeAsync(connection, cancellationToken).ConfigureAwait(false);
            var present = new List<string>();
            await using (var list = new NpgsqlCommand($"SELECT quote_ident(tablename) {StoreTables} ORDER BY tablename;", connection))
            {
                list.Parameters.AddWithValue("tables", Tables);
                await using var reader = await list.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    present.Add(reader.GetString(0));
                }
            }

            foreach (var table in present)
            {
                // VACUUM cannot run inside a transaction: each runs on its own, in autocommit. The name was quoted by the server.
#pragma warning disable CA2100 // The table name comes from the fixed list above, quoted by quote_ident.
                await using var vacuum = new NpgsqlCommand(compact ? $"VACUUM (FULL, ANALYZE) {table};" : $"VACUUM (ANALYZE) {table};", connection);
#pragma warning restore CA2100
                vacuum.CommandTimeout = 0;
                await vacuum.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return new StoreSpace(before, await SizeAsync(connection, cancellationToken).ConfigureAwait(false));
        }
    }

    private static async Task<long> SizeAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT COALESCE(SUM(pg_total_relation_size(format('%I.%I', schemaname, tablename)::regclass)), 0)::bigint {StoreTables};", connection);
        command.Parameters.AddWithValue("tables", Tables);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}

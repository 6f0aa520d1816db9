using Npgsql;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>
/// Applies the numbered, immutable migration scripts to a PostgreSQL store. The upgrade runs in one
/// transaction under an advisory lock, so processes opening the same store at once apply each script
/// exactly once; a store written by a newer schema is refused, never downgraded.
/// </summary>
internal static class PostgresSchema
{
    // Arbitrary but fixed: every Arcp.Resumability process takes this lock to migrate.
    private const long MigrationLockKey = 0x4152_4350_5354_4f52; // "ARCPSTOR"

    public static IReadOnlyList<Migration> Migrations { get; } = MigrationScripts.Load("Arcp.Resumability.Store.Postgres.Migrations.");

    public static int LatestVersion => Migrations[^1].Version;

    /// <param name="homeSchema">The first schema of the connection's search path, created when missing, so one database can hold several stores.</param>
    public static async Task MigrateAsync(NpgsqlDataSource dataSource, string location, string? homeSchema, CancellationToken cancellationToken)
    {
        // Most opens find the schema current: one read says so, instead of a transaction with an advisory lock and DDL.
        if (await RecordedVersionAsync(dataSource, cancellationToken).ConfigureAwait(false) == LatestVersion)
        {
            return;
        }

        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLockKey});", cancellationToken).ConfigureAwait(false);
                if (homeSchema is not null && !await SchemaExistsAsync(connection, transaction, homeSchema, cancellationToken).ConfigureAwait(false))
                {
                    // Checked first: CREATE SCHEMA IF NOT EXISTS would still demand the CREATE privilege on the database.
                    await ExecuteAsync(connection, transaction, $"CREATE SCHEMA {homeSchema};", cancellationToken).ConfigureAwait(false);
                }

                await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL);", cancellationToken).ConfigureAwait(false);
                var current = await CurrentVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                if (current > LatestVersion)
                {
                    throw MigrationScripts.TooNew(location, current, LatestVersion);
                }

                foreach (var (version, name, sql) in Migrations.Where(m => m.Version > current))
                {
                    await ExecuteAsync(connection, transaction, sql, cancellationToken).ConfigureAwait(false);
                    await using var record = new NpgsqlCommand("INSERT INTO schema_version (version, description, applied_at) VALUES (@v, @d, now());", connection, transaction);
                    PostgresValues.Integer(record, "v", version);
                    PostgresValues.Text(record, "d", name);
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public static async Task<int> CurrentVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_version;", connection, transaction);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The schema version recorded in the store, or null when it has no schema_version table (yet).</summary>
    private static async Task<int?> RecordedVersionAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT COALESCE(MAX(version), 0) FROM schema_version;");
            return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
        {
            return null;
        }
    }

    private static async Task<bool> SchemaExistsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT to_regnamespace(@schema) IS NOT NULL;", connection, transaction);
        PostgresValues.Text(command, "schema", schema);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

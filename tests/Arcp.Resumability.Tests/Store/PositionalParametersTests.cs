using Arcp.Resumability.Store.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace Arcp.Resumability.Tests.Store;

/// <summary>The PostgreSQL store's named placeholders, sent as positional ones so Npgsql does not parse each statement.</summary>
public sealed class PositionalParametersTests
{
    [Theory]
    [InlineData("SELECT @a, @b, @a", "SELECT $1, $2, $1")]
    [InlineData("UPDATE jobs SET name = @name WHERE job_id = @job_id;", "UPDATE jobs SET name = $1 WHERE job_id = $2")]
    [InlineData("SELECT @a::text, tags @> @b, x = @_c1", "SELECT $1::text, tags @> $2, x = $3")]
    [InlineData("SELECT '@not', \"@col\", 'it''s @still not', @yes", "SELECT '@not', \"@col\", 'it''s @still not', $1")]
    [InlineData("-- the job's @note\nSELECT @a", "-- the job's @note\nSELECT $1")]
    [InlineData("SELECT email FROM t WHERE x = 'a@b.c' AND y = @Y AND z = @y", "SELECT email FROM t WHERE x = 'a@b.c' AND y = $1 AND z = $1")]
    public void Names_become_numbers_in_order_of_first_use_outside_quotes_and_comments(string named, string positional)
    {
        Assert.Equal(positional, PositionalParameters.RewriteOf(named)?.Sql);
    }

    [Theory]
    [InlineData("SET LOCAL synchronous_commit = local;SELECT @a")]
    [InlineData("SELECT @a; SELECT 2")]
    [InlineData("SELECT $1, @a")]
    [InlineData("DO $$ BEGIN PERFORM @a; END $$")]
    [InlineData("SELECT 'unterminated @a")]
    [InlineData("SELECT 1")]
    public void A_text_that_cannot_be_rewritten_safely_stays_named(string sql)
    {
        Assert.Null(PositionalParameters.RewriteOf(sql));
    }

    [Fact]
    public void A_commands_parameters_go_in_placeholder_order_without_names_and_unused_ones_are_dropped()
    {
        using var command = new NpgsqlCommand("SELECT @second_used_first, @first, @second_used_first;");
        command.Parameters.Add(new NpgsqlParameter("first", NpgsqlDbType.Text) { Value = "one" });
        command.Parameters.Add(new NpgsqlParameter("@second_used_first", NpgsqlDbType.Integer) { Value = 2 });
        command.Parameters.Add(new NpgsqlParameter("unused", NpgsqlDbType.Integer) { Value = 3 });

        command.Positional();

        Assert.Equal("SELECT $1, $2, $1", command.CommandText);
        Assert.Equal([2, "one"], command.Parameters.Select(p => p.Value));
        Assert.Equal([NpgsqlDbType.Integer, NpgsqlDbType.Text], command.Parameters.Select(p => p.NpgsqlDbType));
        Assert.All(command.Parameters, p => Assert.Equal(string.Empty, p.ParameterName));
    }

    [Fact]
    public void A_command_missing_a_parameter_or_positional_already_is_left_as_it_was()
    {
        using var missing = new NpgsqlCommand("SELECT @a, @b");
        missing.Parameters.Add(new NpgsqlParameter("a", 1));
        missing.Positional();
        Assert.Equal("SELECT @a, @b", missing.CommandText);
        Assert.Equal("a", Assert.Single(missing.Parameters).ParameterName);

        using var positional = new NpgsqlCommand("SELECT $1");
        positional.Parameters.Add(new NpgsqlParameter { Value = 1 });
        positional.Positional();
        Assert.Equal("SELECT $1", positional.CommandText);
    }

    [Fact]
    public void Each_command_of_a_batch_is_rewritten_and_a_command_without_parameters_is_untouched()
    {
        using var batch = new NpgsqlBatch();
        var insert = new NpgsqlBatchCommand("INSERT INTO t (a, b) VALUES (@a, @b)");
        insert.Parameters.Add(new NpgsqlParameter("b", 2));
        insert.Parameters.Add(new NpgsqlParameter("a", 1));
        batch.BatchCommands.Add(insert);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));

        batch.Positional();

        Assert.Equal("INSERT INTO t (a, b) VALUES ($1, $2)", batch.BatchCommands[0].CommandText);
        Assert.Equal([1, 2], batch.BatchCommands[0].Parameters.Select(p => p.Value));
        Assert.Equal("COMMIT", batch.BatchCommands[1].CommandText);
    }
}

using System.Collections.Concurrent;
using Npgsql;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>
/// The store writes its statements with named placeholders (<c>@job_id</c>) and sends them with positional ones
/// (<c>$1</c>): Npgsql parses and rewrites the whole text of a command whose parameters have names on every execution
/// (a few per cent of a worker's CPU, most of it in the longer statements), and sends a command whose parameters have
/// none as it is. Each statement text is rewritten once per process; per execution only its parameters are put in
/// order. A text this cannot rewrite safely (several statements, a placeholder with no parameter) is left named, for
/// Npgsql to handle as before.
/// </summary>
internal static class PositionalParameters
{
    // The store's statement texts are constants, a few dozen; the bound keeps a text built some other way from growing it.
    private const int MostTexts = 512;

    private static readonly ConcurrentDictionary<string, Rewrite?> Rewrites = new(StringComparer.Ordinal);

    /// <summary>Makes <paramref name="command"/> positional, for the statement it is about to execute.</summary>
    public static NpgsqlCommand Positional(this NpgsqlCommand command)
    {
        if (Apply(command.CommandText, command.Parameters) is { } sql)
        {
            command.CommandText = sql;
        }

        return command;
    }

    /// <summary>Makes each command of <paramref name="batch"/> positional.</summary>
    public static NpgsqlBatch Positional(this NpgsqlBatch batch)
    {
        for (var i = 0; i < batch.BatchCommands.Count; i++)
        {
            var command = batch.BatchCommands[i];
            if (Apply(command.CommandText, command.Parameters) is { } sql)
            {
                command.CommandText = sql;
            }
        }

        return batch;
    }

    /// <summary>The statement with <c>$n</c> placeholders and the names in their order; null when it must stay named.</summary>
    internal static Rewrite? RewriteOf(string sql) =>
        Rewrites.TryGetValue(sql, out var known) ? known : Rewrites.Count < MostTexts ? Rewrites.GetOrAdd(sql, Parse) : Parse(sql);

    /// <returns>The positional text, its parameters now in order and unnamed; null when the command was left as it was.</returns>
    private static string? Apply(string sql, NpgsqlParameterCollection parameters)
    {
        if (parameters.Count == 0 || RewriteOf(sql) is not { } rewrite)
        {
            return null;
        }

        var ordered = new NpgsqlParameter?[rewrite.Positions.Count];
        foreach (NpgsqlParameter parameter in parameters)
        {
            var name = parameter.ParameterName.TrimStart('@', ':');
            if (name.Length == 0)
            {
                // Positional already (or a caller's mix Npgsql refuses): not this code's to change.
                return null;
            }

            if (rewrite.Positions.TryGetValue(name, out var position))
            {
                ordered[position] = parameter;
            }
        }

        if (Array.IndexOf(ordered, null) >= 0)
        {
            return null;
        }

        parameters.Clear();
        foreach (var parameter in ordered)
        {
            parameter!.ParameterName = string.Empty;
            parameters.Add(parameter);
        }

        return rewrite.Sql;
    }

    /// <summary>
    /// Replaces each <c>@name</c> outside quotes and comments with <c>$n</c>, numbered by first appearance (a name used twice keeps
    /// its number). Null for a text of more than one statement or one with a <c>$n</c> of its own.
    /// </summary>
    private static Rewrite? Parse(string sql)
    {
        var text = sql.TrimEnd();
        if (text.EndsWith(';'))
        {
            text = text[..^1];
        }

        var positions = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var rewritten = new System.Text.StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '-' && i + 1 < text.Length && text[i + 1] == '-')
            {
                var end = text.IndexOf('\n', i);
                end = end < 0 ? text.Length : end;
                rewritten.Append(text, i, end - i);
                i = end - 1;
            }
            else if (c is '\'' or '"')
            {
                var end = text.IndexOf(c, i + 1);
                while (end >= 0 && end + 1 < text.Length && text[end + 1] == c)
                {
                    end = text.IndexOf(c, end + 2);
                }

                if (end < 0)
                {
                    return null;
                }

                rewritten.Append(text, i, end - i + 1);
                i = end;
            }
            else if (c == ';' || (c == '$' && i + 1 < text.Length && (char.IsAsciiDigit(text[i + 1]) || text[i + 1] == '$')))
            {
                return null;
            }
            else if (c == '@' && i + 1 < text.Length && (char.IsAsciiLetter(text[i + 1]) || text[i + 1] == '_'))
            {
                var start = i + 1;
                var end = start;
                while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_'))
                {
                    end++;
                }

                var name = text[start..end];
                if (!positions.TryGetValue(name, out var position))
                {
                    position = positions.Count;
                    positions.Add(name, position);
                }

                rewritten.Append('$').Append(position + 1);
                i = end - 1;
            }
            else
            {
                rewritten.Append(c);
            }
        }

        return positions.Count == 0 ? null : new Rewrite(rewritten.ToString(), positions);
    }

    /// <param name="Positions">Each name's place in the parameter list, from 0.</param>
    internal sealed record Rewrite(string Sql, IReadOnlyDictionary<string, int> Positions);
}

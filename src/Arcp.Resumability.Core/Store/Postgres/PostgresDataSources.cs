using Npgsql;

namespace Arcp.Resumability.Store.Postgres;

/// <summary>
/// One pooled data source per connection string for the whole process, so every store opened on the same database
/// (a cmdlet opens one per command: <c>Start-ArcpJob</c>, <c>Get-ArcpJob</c>, a worker's claims) reuses the server
/// connections already made instead of a new connection, authentication and backend per command. A data source no
/// store uses any more stays open for the next one; only the <see cref="IdleKept"/> most recently released are kept,
/// so a process that goes through many databases or schemas does not pile up idle server connections. The
/// connection string, password included, is only ever a key in this process's memory, as in Npgsql's own pools;
/// nothing writes it anywhere. The pools close idle connections on their own (Npgsql's pruning) and all at exit.
/// </summary>
internal static class PostgresDataSources
{
    /// <summary>How many data sources without a store are kept open for reuse.</summary>
    public const int IdleKept = 4;

    private static readonly object Gate = new();
    private static readonly Dictionary<string, Entry> Entries = new(StringComparer.Ordinal);

    // Released data sources, the longest unused first.
    private static readonly LinkedList<string> Idle = new();

    // Replaced by Renew while a store may still use them: closed at exit.
    private static readonly List<NpgsqlDataSource> Retired = [];

    static PostgresDataSources() => AppDomain.CurrentDomain.ProcessExit += (_, _) => CloseAll();

    /// <summary>How many data sources are open (in use or kept).</summary>
    public static int Open
    {
        get
        {
            lock (Gate)
            {
                return Entries.Count;
            }
        }
    }

    /// <summary>The process's data source for <paramref name="connectionString"/>; give it back with <see cref="ReleaseAsync"/>.</summary>
    public static NpgsqlDataSource Rent(string connectionString)
    {
        lock (Gate)
        {
            if (!Entries.TryGetValue(connectionString, out var entry))
            {
                entry = new Entry(NpgsqlDataSource.Create(connectionString));
                Entries[connectionString] = entry;
            }

            if (entry.IdleNode is { } node)
            {
                Idle.Remove(node);
                entry.IdleNode = null;
            }

            entry.Users++;
            return entry.DataSource;
        }
    }

    /// <summary>
    /// A fresh data source for <paramref name="connectionString"/> in place of <paramref name="failed"/>, whose pooled
    /// connections the server may have dropped (a restart): new stores get new connections. A store still holding the
    /// old one keeps it working (a broken connection is discarded as it fails); it is closed at exit.
    /// </summary>
    public static NpgsqlDataSource Renew(string connectionString, NpgsqlDataSource failed)
    {
        lock (Gate)
        {
            if (!Entries.TryGetValue(connectionString, out var entry))
            {
                return failed;
            }

            if (ReferenceEquals(entry.DataSource, failed))
            {
                Retired.Add(failed);
                entry.DataSource = NpgsqlDataSource.Create(connectionString);
            }

            return entry.DataSource;
        }
    }

    /// <summary>One user of <paramref name="connectionString"/>'s data source is done with it.</summary>
    public static async ValueTask ReleaseAsync(string connectionString)
    {
        NpgsqlDataSource? evicted = null;
        lock (Gate)
        {
            if (!Entries.TryGetValue(connectionString, out var entry) || entry.Users == 0)
            {
                return;
            }

            if (--entry.Users == 0)
            {
                entry.IdleNode = Idle.AddLast(connectionString);
                if (Idle.Count > IdleKept)
                {
                    var oldest = Idle.First!.Value;
                    Idle.RemoveFirst();
                    evicted = Entries[oldest].DataSource;
                    Entries.Remove(oldest);
                }
            }
        }

        if (evicted is not null)
        {
            await evicted.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void CloseAll()
    {
        NpgsqlDataSource[] all;
        lock (Gate)
        {
            all = [.. Entries.Values.Select(e => e.DataSource), .. Retired];
            Entries.Clear();
            Idle.Clear();
            Retired.Clear();
        }

        // Ends the server sessions cleanly instead of leaving the server to find the sockets closed.
        foreach (var dataSource in all)
        {
            dataSource.Dispose();
        }
    }

    private sealed class Entry(NpgsqlDataSource dataSource)
    {
        public NpgsqlDataSource DataSource { get; set; } = dataSource;

        public int Users { get; set; }

        public LinkedListNode<string>? IdleNode { get; set; }
    }
}

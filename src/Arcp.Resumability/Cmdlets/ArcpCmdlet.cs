using System.Management.Automation;
using Arcp.Resumability.Client;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// Shared plumbing: store selection, one embedded session per store for the life of the pipeline,
/// async work driven from the pipeline thread, Ctrl+C, and ARCP errors as ErrorRecords.
/// </summary>
public abstract class ArcpCmdlet : PSCmdlet, IDisposable
{
    private readonly Dictionary<string, EmbeddedArcp> sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IArcpStore> stores = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();
    private bool disposed;

    /// <summary>
    /// The store: a SQLite file path, or a PostgreSQL connection string (postgresql://user@host/db or
    /// Host=...;Database=...; the password best comes from $env:ARCP_PG_PASSWORD or $env:PGPASSWORD).
    /// Defaults to $env:ARCP_STORE, else the per-user data folder.
    /// Binds from piped jobs and checkpoints so a pipeline keeps using the store they came from.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Store { get; set; }

    internal PipelineDispatcher Dispatcher { get; } = new();

    internal string ResolvedStore => StoreLocator.Resolve(Store, SessionState.Path.CurrentFileSystemLocation.ProviderPath);

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        foreach (var session in sessions.Values)
        {
            session.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        sessions.Clear();
        foreach (var store in stores.Values)
        {
            store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        stores.Clear();
        stopping.Dispose();
        Dispatcher.Dispose();
        GC.SuppressFinalize(this);
    }

    protected override void StopProcessing() => stopping.Cancel();

    /// <summary>Runs async work against the session for <paramref name="store"/>; callbacks run on this thread meanwhile.</summary>
    internal T Run<T>(string store, Func<ArcpClient, CancellationToken, Task<T>> work) =>
        Dispatcher.Run(
            async cancellationToken =>
            {
                if (!sessions.TryGetValue(store, out var session))
                {
                    session = await EmbeddedArcp.OpenAsync(store, OperatorSettings.RuntimeOptions(), cancellationToken).ConfigureAwait(false);
                    sessions[store] = session;
                }

                return await work(session.Client, cancellationToken).ConfigureAwait(false);
            },
            stopping.Token);

    /// <summary>Runs maintenance straight on <paramref name="store"/> (no session), opened once per store for the pipeline.</summary>
    internal T RunOnStore<T>(string store, Func<IArcpStore, CancellationToken, Task<T>> work) =>
        Dispatcher.Run(
            async cancellationToken =>
            {
                if (!stores.TryGetValue(store, out var opened))
                {
                    opened = await StoreFactory.OpenAsync(store, cancellationToken).ConfigureAwait(false);
                    stores[store] = opened;
                }

                return await work(opened, cancellationToken).ConfigureAwait(false);
            },
            stopping.Token);

    /// <summary>Waits on the pipeline thread without blocking Ctrl+C.</summary>
    internal void Sleep(TimeSpan delay) =>
        Dispatcher.Run(
            async cancellationToken =>
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                return true;
            },
            stopping.Token);

    /// <summary>Reports an ARCP or store failure as a non-terminating error (-ErrorAction Stop makes it terminating).</summary>
    internal void WriteArcpError(Exception exception, object? target) => WriteError(ArcpErrors.ToRecord(exception, target));

    /// <summary>True for the failures we turn into ErrorRecords; anything else is a bug and propagates.</summary>
    internal static bool IsReportable(Exception exception) => exception is ArcpException or StoreException;

    internal ArcpJob FetchJob(string store, string jobId) =>
        Run(store, async (client, ct) =>
        {
            var jobs = await client.QueryJobsAsync(new JobQueryPayload { JobId = jobId }, ct).ConfigureAwait(false);
            return jobs.Count == 1 ? new ArcpJob(jobs[0], store) : throw ArcpException.Of(ErrorCodes.NotFound, $"Job '{jobId}' does not exist in the store '{store}'.");
        });
}

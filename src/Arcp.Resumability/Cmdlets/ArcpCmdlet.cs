using System.Management.Automation;
using Arcp.Resumability.Client;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// Shared plumbing: where jobs live (an embedded runtime over -Store, or a remote runtime at -Runtime),
/// one session per place for the life of the pipeline, async work driven from the pipeline thread,
/// Ctrl+C, and ARCP errors as ErrorRecords.
/// </summary>
public abstract class ArcpCmdlet : PSCmdlet, IDisposable
{
    private readonly Dictionary<string, (ArcpClient Client, IAsyncDisposable Owner)> sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IArcpStore> stores = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();
    private bool disposed;

    /// <summary>
    /// The store: a SQLite file path, or a PostgreSQL connection string (postgresql://user@host/db or
    /// Host=...;Database=...; the password best comes from $env:ARCP_PG_PASSWORD or $env:PGPASSWORD).
    /// Defaults to $env:ARCP_STORE, else the per-user data folder.
    /// Binds from piped jobs and checkpoints so a pipeline keeps using the store they came from
    /// (for jobs of a remote runtime that is the runtime's ws:// address).
    /// Commands that read across stores (Get-ArcpJob) take several; the others take one.
    /// </summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Store { get; set; }

    /// <summary>A remote runtime (ws:// or wss://) instead of the embedded one; defaults to Connect-ArcpRuntime's.</summary>
    [Parameter]
    [ValidateNotNull]
    public Uri? Runtime { get; set; }

    /// <summary>Bearer token for -Runtime; defaults to Connect-ArcpRuntime's token, else $env:ARCP_TOKEN.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Token { get; set; }

    /// <summary>Accept any TLS certificate from a wss:// runtime (self-signed test certificates).</summary>
    [Parameter]
    public SwitchParameter SkipCertificateCheck { get; set; }

    internal PipelineDispatcher Dispatcher { get; } = new();

    /// <summary>
    /// Whether this command may create a missing store. Commands that only read or remove say MustExist, so a
    /// mistyped -Store is a NOT_FOUND naming the path instead of a new empty store that reports "no jobs".
    /// </summary>
    internal virtual StoreOpenMode StoreOpenMode => StoreOpenMode.CreateIfMissing;

    /// <summary>
    /// Where this command's jobs live: a store path for the embedded runtime, or a runtime's address.
    /// Explicit -Store or -Runtime win over the Connect-ArcpRuntime default, which wins over the default store.
    /// </summary>
    internal string ResolvedStore
    {
        get
        {
            if (Store is { Length: > 1 })
            {
                // Terminating: the cmdlets resolve this before their own error handling, and no input could fix it.
                ThrowTerminatingError(ArcpErrors.Record(ArcpError.Create(ErrorCodes.InvalidArgument, $"{MyInvocation.MyCommand.Name} works on one store at a time, but -Store got {Store.Length}. Get-ArcpJob reads several stores; pipe its jobs on, each carries its own store."), null, Store));
            }

            return Resolve(Store is { Length: 1 } ? Store[0] : null);
        }
    }

    /// <summary>Every place -Store names, resolved in order and without repeats (one when -Store is not given).</summary>
    internal IReadOnlyList<string> ResolvedStores =>
        Store is { Length: > 1 } ? Store.Select(Resolve).Distinct(StringComparer.Ordinal).ToList() : [ResolvedStore];

    private string Resolve(string? store)
    {
        var storeIsAddress = RemoteArcp.IsRuntimeAddress(store);
        if (Runtime is not null)
        {
            if (store is not null && !(storeIsAddress && new Uri(store) == Runtime))
            {
                ThrowTerminatingError(ArcpErrors.Record(ArcpError.Create(ErrorCodes.InvalidArgument, "-Store and -Runtime are mutually exclusive: jobs live either in a local store or on a remote runtime."), null, Runtime));
            }

            return CheckedAddress(Runtime);
        }

        if (storeIsAddress)
        {
            return CheckedAddress(new Uri(store!));
        }

        if (store is null && RuntimeConnections.Current is { } connection)
        {
            return connection.Runtime.AbsoluteUri;
        }

        return StoreLocator.Resolve(store, SessionState.Path.CurrentFileSystemLocation.ProviderPath);
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        foreach (var session in sessions.Values)
        {
            CloseAsync(session.Client, session.Owner).GetAwaiter().GetResult();
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
    internal T Run<T>(string store, Func<ArcpClient, CancellationToken, Task<T>> work) => RunEmbedded(store, (client, _, ct) => work(client, ct));

    /// <summary>
    /// As <see cref="Run{T}"/>, also handing over the embedded runtime that serves <paramref name="store"/> in this
    /// process (null for a remote runtime), for what only the local user may do, such as recording job definitions.
    /// </summary>
    internal T RunEmbedded<T>(string store, Func<ArcpClient, EmbeddedArcp?, CancellationToken, Task<T>> work)
    {
        var remote = RemoteArcp.IsRuntimeAddress(store) ? RemoteSettings(new Uri(store)) : null;
        return Dispatcher.Run(
            async cancellationToken =>
            {
                if (!sessions.TryGetValue(store, out var session))
                {
                    // Opened here rather than in a helper returning the pair: one async method fewer for a new
                    // process to compile, on the way of every command's first call.
                    session = remote is not null
                        ? OwnedBy(await ConnectRemoteAsync(remote, cancellationToken).ConfigureAwait(false))
                        : OwnedBy(await EmbeddedArcp.OpenAsync(store, OpenModeFor(store), OperatorSettings.RuntimeOptions(), cancellationToken).ConfigureAwait(false));
                    sessions[store] = session;
                }

                return await work(session.Client, session.Owner as EmbeddedArcp, cancellationToken).ConfigureAwait(false);
            },
            stopping.Token);
    }

    /// <summary>Runs maintenance through the job service on a store opened directly (and kept open for this command).</summary>
    internal T RunOnStore<T>(string store, Func<JobService, CancellationToken, Task<T>> work) =>
        RemoteArcp.IsRuntimeAddress(store)
            ? throw ArcpException.Of(ErrorCodes.InvalidArgument, $"{MyInvocation.MyCommand.Name} works on a store directly, not through a runtime ({store}); pass -Store, on the runtime's machine.")
            : Dispatcher.Run(
            async cancellationToken =>
            {
                if (!stores.TryGetValue(store, out var opened))
                {
                    opened = await StoreFactory.OpenAsync(store, OpenModeFor(store), cancellationToken).ConfigureAwait(false);
                    stores[store] = opened;
                }

                return await work(new JobService(opened, new JobServiceOptions()), cancellationToken).ConfigureAwait(false);
            },
            stopping.Token);

    /// <summary>
    /// Waits, on §13 subscriptions of the session for <paramref name="store"/>, until each job reaches
    /// <paramref name="target"/> or <paramref name="deadline"/> passes (Ctrl+C stops the wait).
    /// </summary>
    /// <returns>Per job id: the job once it got there, or null when the deadline passed first, or the failure.</returns>
    internal IReadOnlyDictionary<string, JobWaitOutcome> WaitForJobs(string store, IReadOnlyList<string> jobIds, JobWaitTarget target, DateTimeOffset? deadline) =>
        Run(store, async (client, cancellationToken) =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (deadline is { } end)
            {
                var left = end - DateTimeOffset.UtcNow;
                timeout.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }

            var waits = jobIds.Distinct(StringComparer.Ordinal).Select(async jobId =>
            {
                try
                {
                    return (jobId, new JobWaitOutcome(new ArcpJob(await client.WaitForJobAsync(jobId, target, timeout.Token).ConfigureAwait(false), store), null));
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    // Out of time, maybe before the subscription opened: one last look decides.
                    var jobs = await client.QueryJobsAsync(new JobQueryPayload { JobId = jobId }, cancellationToken).ConfigureAwait(false);
                    return (jobId, jobs.Count == 1 && JobWaits.Reached(jobs[0], target) ? new JobWaitOutcome(new ArcpJob(jobs[0], store), null) : new JobWaitOutcome(null, null));
                }
                catch (Exception ex) when (IsReportable(ex))
                {
                    return (jobId, new JobWaitOutcome(null, ex));
                }
            });
            return (IReadOnlyDictionary<string, JobWaitOutcome>)(await Task.WhenAll(waits).ConfigureAwait(false)).ToDictionary(w => w.jobId, w => w.Item2, StringComparer.Ordinal);
        });

    /// <summary>The error for a job that stopped moving because nobody drives it: it names the state and the way on.</summary>
    internal static ErrorRecord InterruptedError(ArcpJob job, string why) => ArcpErrors.Record(
        ArcpError.Create(ErrorCodes.FailedPrecondition, $"Job '{job.JobId}' is {job.State}: {why} Nothing moves it on until someone resumes it with Resume-ArcpJob -JobId {job.JobId}.", new System.Text.Json.Nodes.JsonObject { ["job_id"] = job.JobId, ["state"] = job.State.ToString() }),
        null,
        job,
        $"Resume it with 'Resume-ArcpJob -JobId {job.JobId}' (add -Wait to wait for a live owner first); see where it stopped with Get-ArcpCheckpoint -JobId {job.JobId}.");

    /// <summary>Reports an ARCP or store failure as a non-terminating error (-ErrorAction Stop makes it terminating).</summary>
    internal void WriteArcpError(Exception exception, object? target) => WriteError(ArcpErrors.ToRecord(exception, target));

    /// <summary>True for the failures we turn into ErrorRecords; anything else is a bug and propagates.</summary>
    internal static bool IsReportable(Exception exception) => exception is ArcpException or StoreException;

    internal ArcpJob FetchJob(string store, string jobId) =>
        Run(store, async (client, ct) =>
        {
            var jobs = await client.QueryJobsAsync(new JobQueryPayload { JobId = jobId }, ct).ConfigureAwait(false);
            return jobs.Count == 1 ? new ArcpJob(jobs[0], store) : throw ArcpException.Of(ErrorCodes.NotFound, $"Job '{jobId}' does not exist in the store '{StoreFactory.Redact(store)}'.");
        });

    /// <summary>The progress bar's title for a job: its name, which the operator chose, else its id.</summary>
    internal string ProgressActivity(string store, string jobId)
    {
        try
        {
            return $"ARCP job {FetchJob(store, jobId).Name ?? jobId}";
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            // The resume that follows reports the real problem; the title just falls back to the id.
            return $"ARCP job {jobId}";
        }
    }

    /// <summary>Token and TLS settings for <paramref name="runtime"/>: this command's, else the runspace default's for the same runtime.</summary>
    internal RuntimeConnection RemoteSettings(Uri runtime)
    {
        var fallback = RuntimeConnections.Current is { } current && current.Runtime == runtime ? current : null;
        var token = Token ?? fallback?.Token ?? NonEmpty(Environment.GetEnvironmentVariable("ARCP_TOKEN"));
        return new RuntimeConnection(runtime, token, SkipCertificateCheck.IsPresent || fallback?.SkipCertificateCheck == true);
    }

#pragma warning disable CA5359 // Only with -SkipCertificateCheck, which exists for self-signed test runtimes.
    internal static async Task<ArcpClient> ConnectRemoteAsync(RuntimeConnection remote, CancellationToken cancellationToken) =>
        await RemoteArcp.ConnectAsync(
            remote.Runtime,
            remote.Token,
            remote.SkipCertificateCheck ? (_, _, _, _) => true : null,
            null,
            RequestTimeout(),
            cancellationToken).ConfigureAwait(false);
#pragma warning restore CA5359

    /// <summary>
    /// How long a command waits for a remote runtime's answer: <c>ARCP_REQUEST_TIMEOUT_SECONDS</c> when it holds a
    /// positive number, else <see cref="ClientOptions.DefaultRequestTimeout"/>.
    /// </summary>
    internal static TimeSpan RequestTimeout() =>
        double.TryParse(Environment.GetEnvironmentVariable("ARCP_REQUEST_TIMEOUT_SECONDS"), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
        && seconds > 0 && seconds <= int.MaxValue / 1000
            ? TimeSpan.FromSeconds(seconds)
            : ClientOptions.DefaultRequestTimeout;

    /// <summary>Ends a session opened by <see cref="RunEmbedded{T}"/>: an embedded runtime closes its session itself when disposed.</summary>
    internal static Task CloseAsync(ArcpClient client, IAsyncDisposable owner) =>
        ReferenceEquals(client, owner) ? CloseRemoteAsync(client) : owner.DisposeAsync().AsTask();

    private static async Task CloseRemoteAsync(ArcpClient client)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await client.CloseAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ArcpException or OperationCanceledException or ObjectDisposedException)
        {
            // The runtime releases the session's leases when the connection ends, close or no close.
        }

        await client.DisposeAsync().ConfigureAwait(false);
    }

    private StoreOpenMode OpenModeFor(string store) =>
        StoreLocator.IsPerUserDefault(store) ? StoreOpenMode.CreateIfMissing : StoreOpenMode;

    private string CheckedAddress(Uri runtime)
    {
        if (!runtime.IsAbsoluteUri || runtime.Scheme is not ("ws" or "wss"))
        {
            ThrowTerminatingError(ArcpErrors.Record(ArcpError.Create(ErrorCodes.InvalidArgument, $"-Runtime must be a ws:// or wss:// address, not '{runtime}'."), null, runtime));
        }

        return runtime.AbsoluteUri;
    }

    private static (ArcpClient Client, IAsyncDisposable Owner) OwnedBy(ArcpClient remote) => (remote, remote);

    private static (ArcpClient Client, IAsyncDisposable Owner) OwnedBy(EmbeddedArcp embedded) => (embedded.Client, embedded);

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary>How one job's wait ended: the job (at its target), neither (the deadline passed), or a failure.</summary>
internal sealed record JobWaitOutcome(ArcpJob? Job, Exception? Failure);

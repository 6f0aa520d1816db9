using Arcp.Resumability.Client;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Embedding;

/// <summary>
/// The embedded default: an in-process runtime over a SQLite or PostgreSQL store, reached through an in-memory
/// transport pair, so the client speaks the same protocol it would to a remote runtime.
/// </summary>
public sealed class EmbeddedArcp : IAsyncDisposable
{
    private readonly IArcpStore store;
    private readonly ArcpRuntime runtime;
    private readonly CancellationTokenSource runtimeStop;
    private readonly Task serving;

    private EmbeddedArcp(IArcpStore store, ArcpRuntime runtime, ArcpClient client, Task serving, CancellationTokenSource runtimeStop)
    {
        this.store = store;
        this.runtime = runtime;
        Client = client;
        this.serving = serving;
        this.runtimeStop = runtimeStop;
    }

    public ArcpClient Client { get; }

    public string StoreLocation => store.Location;

    /// <summary>
    /// Records where a job this process started got its definition, for the local principal (the only one an
    /// embedded runtime serves); see <see cref="JobService.RecordDefinitionAsync"/>.
    /// </summary>
    public Task<bool> RecordDefinitionAsync(JobDefinitionRecord definition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return Jobs().RecordDefinitionAsync(definition with { Principal = RuntimeOptions.LocalPrincipal }, cancellationToken);
    }

    /// <summary>The recorded definition of a local principal's job, or null (see <see cref="JobService.GetRecordedDefinitionAsync"/>).</summary>
    public Task<JobDefinitionRecord?> GetRecordedDefinitionAsync(string jobId, CancellationToken cancellationToken) =>
        Jobs().GetRecordedDefinitionAsync(RuntimeOptions.LocalPrincipal, jobId, cancellationToken);

    /// <summary>
    /// Opens the store <paramref name="storeSpec"/> names (a SQLite file path or a PostgreSQL connection
    /// string, see <see cref="StoreFactory"/>) and a session on a runtime over it.
    /// </summary>
    public static Task<EmbeddedArcp> OpenAsync(string storeSpec, RuntimeOptions? runtimeOptions, CancellationToken cancellationToken) =>
        OpenAsync(storeSpec, StoreOpenMode.CreateIfMissing, runtimeOptions, cancellationToken);

    /// <summary>As <see cref="OpenAsync(string, RuntimeOptions?, CancellationToken)"/>; <paramref name="mode"/> says whether a missing store may be created.</summary>
    public static async Task<EmbeddedArcp> OpenAsync(string storeSpec, StoreOpenMode mode, RuntimeOptions? runtimeOptions, CancellationToken cancellationToken)
    {
        var store = await StoreFactory.OpenAsync(storeSpec, mode, cancellationToken).ConfigureAwait(false);
        try
        {
            return await OpenAsync(store, runtimeOptions, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Serves <paramref name="store"/> in process; the returned object owns and disposes it.</summary>
    public static async Task<EmbeddedArcp> OpenAsync(IArcpStore store, RuntimeOptions? runtimeOptions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        // In process, the only client is this process's user.
        var runtime = new ArcpRuntime(store, (runtimeOptions ?? new RuntimeOptions()) with { AllowAnonymous = true, AnonymousPrincipal = RuntimeOptions.LocalPrincipal });
        var (clientEnd, serverEnd) = InMemoryTransport.CreatePair();
        var stop = new CancellationTokenSource();
        var serving = Task.Run(() => runtime.ServeAsync(serverEnd, stop.Token), CancellationToken.None);
        try
        {
            var client = await ArcpClient.ConnectAsync(clientEnd, new ClientOptions(), cancellationToken).ConfigureAwait(false);
            return new EmbeddedArcp(store, runtime, client, serving, stop);
        }
        catch
        {
            clientEnd.Close();
            await stop.CancelAsync().ConfigureAwait(false);
            await serving.ConfigureAwait(false);
            await runtime.DisposeAsync().ConfigureAwait(false);
            stop.Dispose();
            throw;
        }
    }

    private JobService Jobs() => new(store, new JobServiceOptions());

    public async ValueTask DisposeAsync()
    {
        var closed = false;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await Client.CloseAsync(timeout.Token).ConfigureAwait(false);
            closed = true;
        }
        catch (Exception ex) when (ex is Protocol.ArcpException or OperationCanceledException or ObjectDisposedException)
        {
            // The runtime releases the session's leases when the connection ends, close or no close.
        }

        if (closed)
        {
            // Having answered session.close, the runtime ends the session and then the connection, so the client's
            // receive loop ends on its own instead of being cancelled (two exceptions thrown at every session's end).
            await serving.ConfigureAwait(false);
        }

        await Client.DisposeAsync().ConfigureAwait(false);
        await serving.ConfigureAwait(false);
        await runtimeStop.CancelAsync().ConfigureAwait(false);
        runtimeStop.Dispose();
        await runtime.DisposeAsync().ConfigureAwait(false);
        await store.DisposeAsync().ConfigureAwait(false);
    }
}

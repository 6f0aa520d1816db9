using System.Management.Automation;
using System.Net;
using System.Security;
using System.Security.Cryptography.X509Certificates;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.PowerShell.Hosting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Runtime.Hosting;
using Arcp.Resumability.Store;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Hosts an ARCP runtime over WebSocket (-Listen) or stdin/stdout (-Stdio) until Ctrl+C, Stop-ArcpRuntime or end of input.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "ArcpRuntime", DefaultParameterSetName = ListenSet)]
[OutputType(typeof(void))]
public sealed class StartArcpRuntimeCommand : PSCmdlet, IDisposable
{
    private const string ListenSet = "Listen";
    private const string StdioSet = "Stdio";
    private readonly CancellationTokenSource stopping = new();
    private readonly PipelineDispatcher dispatcher = new();

    /// <summary>ws://host:port/path or wss://host:port/path (with -Certificate); port 0 picks a free port.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ListenSet)]
    [ValidateNotNull]
    public Uri Listen { get; set; } = null!;

    /// <summary>Serve one session over this process's stdin and stdout (nothing else is written to stdout).</summary>
    [Parameter(Mandatory = true, ParameterSetName = StdioSet)]
    public SwitchParameter Stdio { get; set; }

    /// <summary>The store (SQLite path or PostgreSQL connection string); defaults like the client cmdlets' -Store.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Store { get; set; }

    /// <summary>Bearer tokens: lines of "token principal [admin]", or a JSON array of {token, principal, admin}.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TokenFile { get; set; }

    /// <summary>Accept auth scheme "none" from clients that declare capabilities.anonymous.</summary>
    [Parameter]
    public SwitchParameter AllowAnonymous { get; set; }

    /// <summary>A PFX (PKCS#12) file with the TLS certificate and its private key, for wss://.</summary>
    [Parameter(ParameterSetName = ListenSet)]
    [ValidateNotNullOrEmpty]
    public string? Certificate { get; set; }

    [Parameter(ParameterSetName = ListenSet)]
    public SecureString? CertificatePassword { get; set; }

    /// <summary>
    /// Workflows (built-in names or .ps1 paths) this runtime runs itself for clients that start them without
    /// running the steps (Start-ArcpJob -OnRuntime). Their steps run one at a time in this command's runspace.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Workflow { get; set; }

    /// <summary>
    /// Web origins (https://app.example) whose browser pages may connect. Any other request carrying an Origin header
    /// is refused with HTTP 403; clients that are not browsers send none.
    /// </summary>
    [Parameter(ParameterSetName = ListenSet)]
    [ValidateNotNullOrEmpty]
    public string[]? AllowedOrigin { get; set; }

    /// <summary>
    /// Folders whose *.md/*.txt files the built-in research workflow may read when a client names one as Corpus.
    /// Without it, jobs this runtime runs use the module's own corpus only.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? CorpusRoot { get; set; }

    /// <summary>The largest frame accepted from a client, in bytes.</summary>
    [Parameter]
    [ValidateRange(1024, 256 * 1024 * 1024)]
    public int MaxFrameBytes { get; set; } = TransportOptions.DefaultMaxFrameBytes;

    /// <summary>Inbound messages per second one principal may send over all its sessions (after a burst of -QuotaBurstSeconds of it).</summary>
    [Parameter]
    [ValidateRange(0.01, 1_000_000d)]
    public double MaxMessagesPerSecond { get; set; } = new QuotaOptions().EventsPerSecond;

    /// <summary>Inbound bytes per second one principal may send over all its sessions (after a burst of -QuotaBurstSeconds of it).</summary>
    [Parameter]
    [ValidateRange(1024L, long.MaxValue)]
    public long MaxBytesPerSecond { get; set; } = (long)new QuotaOptions().BytesPerSecond;

    /// <summary>How many seconds' worth of -MaxMessagesPerSecond and -MaxBytesPerSecond a principal may send at once.</summary>
    [Parameter]
    [ValidateRange(0.1, 3600d)]
    public double QuotaBurstSeconds { get; set; } = new QuotaOptions().BurstSeconds;

    /// <summary>No per-principal quota (for a runtime only trusted clients reach).</summary>
    [Parameter]
    public SwitchParameter NoQuota { get; set; }

    /// <summary>Failed session.open attempts one remote address may make in a row, and then per minute.</summary>
    [Parameter(ParameterSetName = ListenSet)]
    [ValidateRange(1, 100_000)]
    public int MaxFailedAuthenticationsPerMinute { get; set; } = new AuthenticationThrottleOptions().FailuresPerMinute;

    /// <summary>Apply retention while the runtime runs: once at start and then at this interval.</summary>
    [Parameter]
    public TimeSpan? RetentionInterval { get; set; }

    /// <summary>With -RetentionInterval: events older than this are purged (a bare number is days).</summary>
    [Parameter]
    [DaysTransformation]
    public TimeSpan EventRetention { get; set; } = RetentionPolicy.DefaultEventAge;

    /// <summary>With -RetentionInterval: finished jobs not updated for this long are removed (a bare number is days).</summary>
    [Parameter]
    [DaysTransformation]
    public TimeSpan CompletedJobRetention { get; set; } = RetentionPolicy.DefaultCompletedJobAge;

    /// <summary>With -RetentionInterval: unfinished jobs nobody holds a live lease on, not updated for this long, are removed (a bare number is days); kept when absent.</summary>
    [Parameter]
    [DaysTransformation]
    public TimeSpan? AbandonedJobRetention { get; set; }

    public void Dispose()
    {
        stopping.Dispose();
        dispatcher.Dispose();
    }

    protected override void StopProcessing() => stopping.Cancel();

    protected override void EndProcessing()
    {
        var cwd = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
        var storePath = StoreLocator.Resolve(Store, cwd);
        if (Stdio)
        {
            // stdout is the protocol channel: what steps write to the host's streams must not reach it.
            foreach (var preference in (string[])["ProgressPreference", "WarningPreference", "InformationPreference", "VerbosePreference", "DebugPreference", "ErrorActionPreference"])
            {
                SessionState.PSVariable.Set(preference, ActionPreference.SilentlyContinue);
            }
        }

        if (RetentionInterval is { } retentionInterval && retentionInterval <= TimeSpan.Zero)
        {
            throw Terminating(ErrorCodes.InvalidArgument, $"-RetentionInterval must be positive, not {retentionInterval}.", null);
        }

        var options = RuntimeOptions(cwd) with { Driver = new WorkflowJobDriver(LoadWorkflows(cwd, storePath)) };
        var transport = new TransportOptions { MaxFrameBytes = MaxFrameBytes };
        using var certificate = LoadCertificate(cwd);
        try
        {
            dispatcher.Run(
                async cancellationToken =>
                {
                    var store = await StoreFactory.OpenAsync(storePath, cancellationToken).ConfigureAwait(false);
                    await using (store.ConfigureAwait(false))
                    {
                        var runtime = new ArcpRuntime(store, options);
                        await using var runtimeScope = runtime.ConfigureAwait(false);
                        var resumed = await runtime.ResumeInterruptedAsync(cancellationToken).ConfigureAwait(false);
                        if (resumed.Count > 0)
                        {
                            options.Diagnostics?.Invoke($"resuming {resumed.Count} interrupted job(s) of the registered workflows: {string.Join(", ", resumed)}");
                        }

                        using var retentionStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                        var retention = ScheduleRetention(runtime.Jobs, retentionStop.Token);
                        try
                        {
                            if (Stdio)
                            {
                                // The admin shutdown message ends a stdio session too, like the end of stdin does.
                                using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                                _ = runtime.ShutdownRequested.ContinueWith(_ => session.Cancel(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                                var connection = StreamConnection.ForConsole(transport);
                                await using (connection.ConfigureAwait(false))
                                {
                                    await runtime.ServeAsync(connection, session.Token).ConfigureAwait(false);
                                }

                                return true;
                            }

                            var host = ArcpWebSocketHost.Start(
                                runtime,
                                Listen,
                                certificate,
                                transport,
                                new WebSocketListenerOptions { AllowedOrigins = AllowedOrigin ?? [] },
                                authenticationThrottle: new AuthenticationThrottleOptions { FailuresPerMinute = MaxFailedAuthenticationsPerMinute });
                            await using (host.ConfigureAwait(false))
                            {
                                if (certificate is null && !IPAddress.IsLoopback(IPAddress.Parse(host.Address.Host.Trim('[', ']'))))
                                {
                                    var plain = host.Address;
                                    await dispatcher.InvokeAsync(() => WriteWarning($"{plain} is reachable from other machines without TLS: bearer tokens and job data cross the network in clear text. Use wss:// with -Certificate, or listen on 127.0.0.1.")).ConfigureAwait(false);
                                }

                                var address = host.Address;
                                var location = store.Location;
                                await dispatcher.InvokeAsync(() => Host.UI.WriteLine($"ARCP runtime listening on {address} (store {location}); Ctrl+C or Stop-ArcpRuntime stops it.")).ConfigureAwait(false);
                                await host.RunAsync(cancellationToken).ConfigureAwait(false);
                            }

                            return true;
                        }
                        finally
                        {
                            await retentionStop.CancelAsync().ConfigureAwait(false);
                            await retention.ConfigureAwait(false);
                        }
                    }
                },
                stopping.Token);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Ctrl+C: sessions were ended and their jobs left resumable.
        }
        catch (Exception ex) when (ex is StoreException or System.Net.Sockets.SocketException or ArgumentException)
        {
            ThrowTerminatingError(ArcpErrors.ToRecord(ex is StoreException ? ex : new ArcpException(ArcpError.Create(ErrorCodes.Unavailable, ex.Message), ex), Listen));
        }
    }

    private Task ScheduleRetention(JobService jobs, CancellationToken cancellationToken)
    {
        if (RetentionInterval is not { } interval)
        {
            return Task.CompletedTask;
        }

        // Diagnostics go to stderr: under -Stdio, stdout is the protocol channel.
        return Task.Run(
            () => RetentionSchedule.RunAsync(
                jobs,
                new RetentionPolicy(EventRetention, CompletedJobRetention) { AbandonedJobAge = AbandonedJobRetention },
                interval,
                TimeProvider.System,
                pass => Console.Error.WriteLine($"Retention: purged {pass.EventsPurged} event(s) older than {pass.EventCutoff:u} and {pass.SessionsRemoved} ended session(s), removed {pass.JobsRemoved} finished job(s) last updated before {pass.JobCutoff:u} and {pass.AbandonedJobsRemoved} abandoned one(s)."),
                failure => Console.Error.WriteLine($"Retention pass failed (the schedule goes on): {failure.Message}"),
                cancellationToken),
            CancellationToken.None);
    }

    private RuntimeOptions RuntimeOptions(string cwd)
    {
        BearerTokenFile tokens;
        try
        {
            tokens = TokenFile is null
                ? new BearerTokenFile(TokenAuthenticator.None, new HashSet<string>())
                : BearerTokenFile.Load(Path.GetFullPath(TokenFile, cwd));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            throw Terminating(ErrorCodes.InvalidArgument, $"-TokenFile cannot be read: {ex.Message}", ex);
        }

        if (tokens.Tokens.Count == 0 && !AllowAnonymous)
        {
            throw Terminating(ErrorCodes.InvalidArgument, "No client could ever connect: give -TokenFile with at least one token, or -AllowAnonymous.", null);
        }

        RuntimeOptions operatorOptions;
        try
        {
            // Lease and heartbeat come from $env:ARCP_LEASE_SECONDS / $env:ARCP_HEARTBEAT_SECONDS, as for the embedded runtime.
            operatorOptions = OperatorSettings.RuntimeOptions();
        }
        catch (ArcpException ex)
        {
            throw Terminating(ex.Code, ex.Message, ex);
        }

        return operatorOptions with
        {
            BearerTokens = tokens.Tokens,
            AdminPrincipals = tokens.AdminPrincipals,
            AllowAnonymous = AllowAnonymous,
            Quota = Quota(),
            // stdout may be the protocol channel (-Stdio); diagnostics always go to stderr.
            Diagnostics = message => Console.Error.WriteLine($"arcp: {message}"),
        };
    }

    private QuotaOptions? Quota()
    {
        string[] quotaParameters = [nameof(MaxMessagesPerSecond), nameof(MaxBytesPerSecond), nameof(QuotaBurstSeconds)];
        if (NoQuota && quotaParameters.FirstOrDefault(MyInvocation.BoundParameters.ContainsKey) is { } conflicting)
        {
            throw Terminating(ErrorCodes.InvalidArgument, $"-NoQuota turns the quota off; -{conflicting} would set it. Give one or the other.", null);
        }

        return NoQuota ? null : new QuotaOptions { EventsPerSecond = MaxMessagesPerSecond, BytesPerSecond = MaxBytesPerSecond, BurstSeconds = QuotaBurstSeconds };
    }

    private List<Steps.WorkflowDefinition> LoadWorkflows(string cwd, string storePath)
    {
        var workflows = new List<Steps.WorkflowDefinition>();
        foreach (var nameOrPath in Workflow ?? [])
        {
            Scripting.ScriptWorkflow loaded;
            try
            {
                loaded = Scripting.WorkflowLoader.Load(nameOrPath, cwd);
            }
            catch (ArcpException ex)
            {
                throw Terminating(ex.Code, ex.Message, ex);
            }

            // Step bodies run on this command's pipeline thread, which pumps them while the host serves.
            // Steps' progress and streams go to this command's host (recorded as job events all the same).
            var observer = new PowerShellStepObserver(this, dispatcher, $"ARCP runtime: {loaded.Name}", null, storePath);
            // Job input arrives from clients: a folder it names must lie inside the operator's -CorpusRoot folders.
            var inputFolders = new Scripting.InputFolderPolicy((CorpusRoot ?? []).Select(root => Path.GetFullPath(root, cwd)).ToList());
            workflows.Add(Scripting.ScriptStepBody.ToDefinition(loaded, dispatcher, observer, inputFolders));
        }

        return workflows;
    }

    private X509Certificate2? LoadCertificate(string cwd)
    {
        if (Certificate is null)
        {
            return null;
        }

        try
        {
            var password = CertificatePassword is null ? null : new NetworkCredential(string.Empty, CertificatePassword).Password;
            return new X509Certificate2(Path.GetFullPath(Certificate, cwd), password);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException)
        {
            throw Terminating(ErrorCodes.InvalidArgument, $"-Certificate cannot be loaded: {ex.Message}", ex);
        }
    }

    private PipelineStoppedException Terminating(string code, string message, Exception? inner)
    {
        ThrowTerminatingError(ArcpErrors.Record(ArcpError.Create(code, message), inner, Listen));
        return new PipelineStoppedException();
    }
}

using System.Collections;
using System.Text.Json.Nodes;
using Arcp.Resumability.PowerShell.Serialization;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.PowerShell;

/// <summary>
/// What a running step sees as <c>$ArcpStep</c>. The idempotency key is stable across retries and
/// resumes of this step with this input, so it can be handed to external systems for exactly-once effects.
/// The methods record events in the job's stream (see <see cref="StepReporter"/> for their wire form);
/// they run on the pipeline thread and return once the runtime has persisted the event.
/// </summary>
public sealed class ArcpStepContext
{
    private readonly StepReporter? reporter;
    private readonly Action<int, string>? showProgress;
    private readonly CancellationToken cancellationToken;
    private readonly CancellationToken jobCancellation;
    private readonly Scripting.InputFolderPolicy? inputFolders;

    internal ArcpStepContext(StepContext context, object? previousOutput, Action<int, string>? showProgress, CancellationToken cancellationToken, Scripting.InputFolderPolicy? inputFolders = null)
    {
        this.inputFolders = inputFolders;
        JobId = context.JobId;
        Workflow = context.Workflow;
        Step = context.Step;
        StepIndex = context.StepIndex;
        StepCount = context.StepCount;
        IdempotencyKey = context.IdempotencyKey;
        PreviousOutput = previousOutput;
        reporter = context.Reporter;
        this.showProgress = showProgress;
        this.cancellationToken = cancellationToken;
        jobCancellation = context.JobCancellation;
    }

    public string JobId { get; }

    public string Workflow { get; }

    public string Step { get; }

    public int StepIndex { get; }

    public int StepCount { get; }

    public string IdempotencyKey { get; }

    public object? PreviousOutput { get; }

    /// <summary>
    /// True when the job's input came from a runtime host's client rather than from this process's user: host
    /// paths in such input must go through <see cref="ResolveInputFolder"/>.
    /// </summary>
    public bool InputIsRemote => inputFolders is not null;

    /// <summary>
    /// A folder named by the job's input, as a full path. For remote input it must lie inside a folder the host's
    /// operator allowed (Start-ArcpRuntime -CorpusRoot), with links resolved; otherwise this throws PERMISSION_DENIED
    /// without saying whether the folder exists. Local input is the caller's own and is only made absolute.
    /// </summary>
    public string ResolveInputFolder(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return inputFolders is null ? Path.GetFullPath(path) : inputFolders.Resolve(path);
    }

    /// <summary>True once Stop-ArcpJob (an ARCP cancel) asked the job to stop; the job stops after this step.</summary>
    public bool CancellationRequested => jobCancellation.IsCancellationRequested;

    /// <summary>Abandons the step if the job is being cancelled: the job then stops at the previous checkpoint.</summary>
    public void ThrowIfCancellationRequested() => jobCancellation.ThrowIfCancellationRequested();

    /// <summary>Records a job.progress for this step (0–100) and shows it as a child bar under the job's bar.</summary>
    public void ReportProgress(int percent, string message)
    {
        Reporter.ProgressAsync(percent, message, cancellationToken).GetAwaiter().GetResult();
        showProgress?.Invoke(percent, message);
    }

    /// <summary>Records a thought: a chunk of the job's §11.4 thought stream (<c>stream.open kind: thought</c>, <c>stream.chunk</c>).</summary>
    public void Thought(string text) => Reporter.ThoughtAsync(text, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Records a §17.2 log event: level is trace, debug, info, warn, error or critical.</summary>
    public void Log(string level, string message) => Log(level, message, null);

    /// <summary>Records a §17.2 log event with attributes (a hashtable that converts to a JSON object).</summary>
    public void Log(string level, string message, IDictionary? attributes)
    {
        var json = attributes is null ? null : PowerShellJson.ToJsonNode(attributes, subject: "Log attributes") as JsonObject;

        // §17.2 attributes are a plain object for every reader; only the values inside keep their type tags.
        json?.Remove(TypeTags.Key);
        Reporter.LogAsync(level, message, json, cancellationToken).GetAwaiter().GetResult();
    }

    private StepReporter Reporter => reporter ?? throw new InvalidOperationException($"Step '{Step}' is not running under a job; it cannot report.");

    public override string ToString() => $"{Workflow}/{Step} ({StepIndex + 1}/{StepCount}) of {JobId}";
}

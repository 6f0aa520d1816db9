using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.PowerShell.Scripting;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Completion;

/// <summary>Completes -JobId from the jobs in the store named by -Store (or the default store).</summary>
public sealed class JobIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var store = CompletionStore.Find(fakeBoundParameters);
        if (store is null)
        {
            return [];
        }

        var jobs = CompletionStore.Query(store, (service, principal, ct) => service.QueryJobsAsync(principal, null, null, ct)) ?? [];
        return jobs
            .Where(j => CompletionStore.Matches(j.JobId, wordToComplete) || (j.Name is not null && CompletionStore.Matches(j.Name, wordToComplete)))
            .OrderByDescending(j => j.UpdatedAt, StringComparer.Ordinal)
            .Select(j => new CompletionResult(j.JobId, j.JobId, CompletionResultType.ParameterValue, $"{j.Name ?? j.Workflow} ({JobSummaries.OperatorState(j)}, updated {j.UpdatedAt})"))
            .ToList();
    }
}

/// <summary>Completes -CheckpointId with the checkpoints of the job already given as -JobId.</summary>
public sealed class CheckpointIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var store = CompletionStore.Find(fakeBoundParameters);
        if (store is null || fakeBoundParameters?["JobId"] is not { } jobIdValue || LanguagePrimitives.ConvertTo<string>(jobIdValue) is not { Length: > 0 } jobId)
        {
            return [];
        }

        var checkpoints = CompletionStore.Query(store, (service, principal, ct) => service.ReadCheckpointsAsync(principal, jobId, null, ct)) ?? [];
        return checkpoints
            .Where(c => CompletionStore.Matches(c.CheckpointId, wordToComplete) || CompletionStore.Matches(c.Step, wordToComplete))
            .Select(c => new CompletionResult(c.CheckpointId, $"{c.CheckpointId} ({c.Step})", CompletionResultType.ParameterValue, $"Step {c.StepIndex}: {c.Step}, {ArcpJson.FormatTimestamp(c.CreatedAt)}"))
            .ToList();
    }
}

/// <summary>Completes -Workflow with the workflow names this host resolves (built-ins, $env:ARCP_WORKFLOW_PATH) and the .ps1 files in the current folder.</summary>
public sealed class WorkflowCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = (wordToComplete ?? string.Empty).Trim('\'', '"');
        var results = WorkflowLoader.Resolvable()
            .Where(w => CompletionStore.Matches(w.Name, word))
            .Select(w => new CompletionResult(w.Name, w.Name, CompletionResultType.ParameterValue, $"Workflow '{w.Name}' ({w.Path})"))
            .ToList();
        var directory = CompletionStore.CurrentDirectory();
        var folderPart = Path.GetDirectoryName(word) ?? string.Empty;
        var searchIn = Path.GetFullPath(folderPart, directory);
        if (Directory.Exists(searchIn))
        {
            foreach (var file in Directory.EnumerateFiles(searchIn, Path.GetFileName(word) + "*.ps1").Order(StringComparer.Ordinal))
            {
                var text = folderPart.Length == 0 ? "./" + Path.GetFileName(file) : Path.Combine(folderPart, Path.GetFileName(file));
                var quoted = text.Contains(' ', StringComparison.Ordinal) ? $"'{text}'" : text;
                results.Add(new CompletionResult(quoted, Path.GetFileName(file), CompletionResultType.ParameterValue, file));
            }
        }

        return results;
    }
}

/// <summary>Completes -Type of Get-ArcpEvent with the event types a job's stream holds.</summary>
public sealed class EventTypeCompleter : IArgumentCompleter
{
    private static readonly string[] Types =
    [
        MessageTypes.JobAccepted, MessageTypes.JobStarted, MessageTypes.JobProgress, MessageTypes.JobCheckpoint, MessageTypes.Log,
        MessageTypes.StreamOpen, MessageTypes.StreamChunk, MessageTypes.StreamClose, MessageTypes.JobCompleted, MessageTypes.JobFailed, MessageTypes.JobCancelled,
    ];

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Types.Where(t => CompletionStore.Matches(t, wordToComplete))
            .Select(t => new CompletionResult(t, t, CompletionResultType.ParameterValue, t == MessageTypes.StreamChunk ? "stream.chunk (thoughts)" : t))
            .ToList();
}

/// <summary>What the completers share: finding the store without creating it, and read-only queries on it.</summary>
internal static class CompletionStore
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(5);
    private static readonly ScriptBlock CurrentLocation = ScriptBlock.Create("$ExecutionContext.SessionState.Path.CurrentFileSystemLocation.ProviderPath");

    /// <summary>The store the command line points at, or null when that file does not exist (completion must not create one).</summary>
    public static string? Find(IDictionary? fakeBoundParameters)
    {
        var explicitStore = fakeBoundParameters?["Store"] is { } value ? LanguagePrimitives.ConvertTo<string[]>(value).FirstOrDefault() : null;
        var path = StoreLocator.Resolve(explicitStore, CurrentDirectory());
        return File.Exists(path) ? path : null;
    }

    // Completers run inside the completion pipeline, where SessionStateProxy refuses concurrent use; a script block does not.
    public static string CurrentDirectory() =>
        CurrentLocation.Invoke().FirstOrDefault()?.BaseObject as string ?? Environment.CurrentDirectory;

    public static bool Matches(string candidate, string? word) =>
        string.IsNullOrEmpty(word) || WildcardPattern.Get(word.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase).IsMatch(candidate);

    /// <summary>
    /// Runs one read-only query through the job service, as the local user the embedded runtime serves; no runtime
    /// and no session is opened, so nothing is written. A completer that fails or is slow offers nothing rather than an error.
    /// </summary>
    public static T? Query<T>(string store, Func<JobService, string, CancellationToken, Task<T>> query)
        where T : class
    {
        try
        {
            return Task.Run(async () =>
            {
                using var timeout = new CancellationTokenSource(Budget);
                var opened = await StoreFactory.OpenAsync(store, timeout.Token).ConfigureAwait(false);
                await using (opened.ConfigureAwait(false))
                {
                    return await query(new JobService(opened, new JobServiceOptions()), RuntimeOptions.LocalPrincipal, timeout.Token).ConfigureAwait(false);
                }
            }).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is ArcpException or StoreException or OperationCanceledException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.Tests.Core;

/// <summary>A store file in a fresh temporary folder, removed afterwards.</summary>
internal sealed class TestStore : IDisposable
{
    public TestStore()
    {
        Folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "arcp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        Path = System.IO.Path.Combine(Folder, "arcp.db");
    }

    public string Folder { get; }

    public string Path { get; }

    public Task<EmbeddedArcp> OpenAsync() => EmbeddedArcp.OpenAsync(Path, null, CancellationToken.None);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A test that failed may still hold the file; the temp folder is cleaned by the OS eventually.
        }
    }
}

/// <summary>A workflow whose steps count their runs and append their name to the input.</summary>
internal sealed class CountingWorkflow
{
    public CountingWorkflow(params string[] steps)
        : this("counting", steps)
    {
    }

    public CountingWorkflow(string name, string[] steps, string? failAt = null)
    {
        Definition = new WorkflowDefinition(
            name,
            steps.Select(s => new StepDefinition(s, (context, _) =>
            {
                Runs[s] = Runs.GetValueOrDefault(s) + 1;
                if (s == failAt)
                {
                    throw new InvalidOperationException($"{s} exploded");
                }

                var trail = context.Input is JsonArray array ? (JsonArray)array.DeepClone() : new JsonArray(context.Input?.DeepClone());
                trail.Add(s);
                return ValueTask.FromResult<JsonNode?>(trail);
            })).ToList());
    }

    public Dictionary<string, int> Runs { get; } = [];

    public WorkflowDefinition Definition { get; }
}

/// <summary>Simulates the process dying right after a checkpoint: cancels the run the moment it is durable.</summary>
internal sealed class StopAfter(string step) : IStepObserver, IDisposable
{
    private readonly CancellationTokenSource cancellation = new();

    public CancellationToken Token => cancellation.Token;

    public string? JobId { get; private set; }

    public ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken)
    {
        JobId = context.JobId;
        return ValueTask.CompletedTask;
    }

    public ValueTask StepReusedAsync(StepContext context, CheckpointSummary recorded, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask CheckpointRecordedAsync(StepContext context, CheckpointSummary checkpoint, CancellationToken cancellationToken)
    {
        if (context.Step == step)
        {
            cancellation.Cancel();
            cancellationToken.ThrowIfCancellationRequested();
        }

        return ValueTask.CompletedTask;
    }

    public void Dispose() => cancellation.Dispose();
}

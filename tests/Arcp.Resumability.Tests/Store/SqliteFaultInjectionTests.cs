using System.Globalization;
using System.Text.Json.Nodes;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Core;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Tests.Store;

/// <summary>
/// Issue 15, fault injection on SQLite: the store runs out of room in the middle of a job (SQLite's own
/// <c>max_page_count</c> limit, so no root and no special file system are needed). The job stops with a structured
/// RESOURCE_EXHAUSTED, the file stays sound, and once the limit is gone the job resumes from its last checkpoint.
/// </summary>
public sealed class SqliteFaultInjectionTests : IDisposable
{
    // A hang is the failure these tests look for, so every wait is bounded.
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(30);
    private readonly TestStore files = new();

    [Fact]
    public async Task A_store_that_fills_up_mid_job_stops_it_with_RESOURCE_EXHAUSTED_stays_sound_and_the_job_resumes_from_its_last_checkpoint()
    {
        await (await EmbeddedArcp.OpenAsync(files.Path, null, default)).DisposeAsync();
        var workflow = new FillingWorkflow();
        using var bounded = new CancellationTokenSource(Bounded);

        // Room for the small first step, not for the second step's output: the database fills up mid-job.
        var limit = Scalar(files.Path, "PRAGMA page_count;") + 64;
        var limited = await SqliteArcpStore.OpenAsync(files.Path, TimeSpan.FromSeconds(1), [$"PRAGMA max_page_count = {limit};"], bounded.Token);
        var (refused, jobId) = await RunUntilRefusedAsync(await EmbeddedArcp.OpenAsync(limited, null, bounded.Token), workflow, "filling", bounded.Token);

        AssertRetryableStoreFailure(refused, ErrorCodes.ResourceExhausted, files.Path);
        Assert.Contains("full", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Exception", refused.Message, StringComparison.Ordinal);
        Assert.Equal(new Dictionary<string, int> { ["small"] = 1, ["bulky"] = 1 }, workflow.Runs);

        Assert.Equal("ok", Text(files.Path, "PRAGMA integrity_check;"));
        await using (var store = await SqliteArcpStore.OpenAsync(files.Path, bounded.Token))
        {
            Assert.Equal(["small"], (await store.ListCheckpointsAsync(jobId, bounded.Token)).Select(c => c.Step));
        }

        // Space freed (the limit is gone): the job resumes after "small"; only the step that failed to record runs again.
        await AssertResumesAfterTheFirstStepAsync(await EmbeddedArcp.OpenAsync(files.Path, null, bounded.Token), workflow, jobId, bounded.Token);
        Assert.Equal("ok", Text(files.Path, "PRAGMA integrity_check;"));
    }

    [SmallFileSystemFact]
    public async Task A_file_system_that_runs_out_of_space_mid_job_stops_it_with_RESOURCE_EXHAUSTED_and_the_job_resumes_once_space_is_freed()
    {
        using var fileSystem = SmallFileSystem.Mount(megabytes: 4);
        var path = Path.Combine(fileSystem.Folder, "arcp.db");
        var filler = Path.Combine(fileSystem.Folder, "filler");
        var workflow = FillingWorkflow.FaultOnFirstRun(() => SmallFileSystem.Fill(filler));
        using var bounded = new CancellationTokenSource(Bounded);

        var (refused, jobId) = await RunUntilRefusedAsync(await EmbeddedArcp.OpenAsync(path, null, bounded.Token), workflow, "filling", bounded.Token);

        AssertRetryableStoreFailure(refused, ErrorCodes.ResourceExhausted, path);
        Assert.Contains("full", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("ok", Text(path, "PRAGMA integrity_check;"));

        File.Delete(filler);
        await AssertResumesAfterTheFirstStepAsync(await EmbeddedArcp.OpenAsync(path, null, bounded.Token), workflow, jobId, bounded.Token);
        Assert.Equal("ok", Text(path, "PRAGMA integrity_check;"));
    }

    [Fact]
    public async Task A_store_that_turns_read_only_mid_job_stops_it_with_UNAVAILABLE_loses_nothing_and_the_job_resumes_once_it_is_writable()
    {
        using var bounded = new CancellationTokenSource(Bounded);
        var store = await SqliteArcpStore.OpenAsync(files.Path, bounded.Token);
        var workflow = new FillingWorkflow(bulky: run => run == 1 ? store.ApplyPragmaAsync("PRAGMA query_only = ON;", bounded.Token) : Task.CompletedTask);
        var (refused, jobId) = await RunUntilRefusedAsync(await EmbeddedArcp.OpenAsync(store, null, bounded.Token), workflow, "read-only", bounded.Token);

        AssertRetryableStoreFailure(refused, ErrorCodes.Unavailable, files.Path);
        Assert.Contains("readonly", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("ok", Text(files.Path, "PRAGMA integrity_check;"));

        await AssertResumesAfterTheFirstStepAsync(await EmbeddedArcp.OpenAsync(files.Path, null, bounded.Token), workflow, jobId, bounded.Token);
    }

    [ReadOnlyOnErrorFileSystemFact]
    public async Task A_file_system_that_turns_read_only_mid_job_stops_it_with_UNAVAILABLE_loses_nothing_and_the_job_resumes_once_it_is_mounted_writable_again()
    {
        using var fileSystem = ReadOnlyOnErrorFileSystem.Create(megabytes: 16);
        var path = Path.Combine(fileSystem.Folder, "arcp.db");
        var workflow = FillingWorkflow.FaultOnFirstRun(fileSystem.TurnReadOnly);
        using var bounded = new CancellationTokenSource(Bounded);

        var (refused, jobId) = await RunUntilRefusedAsync(await EmbeddedArcp.OpenAsync(path, null, bounded.Token), workflow, "read-only", bounded.Token);

        AssertRetryableStoreFailure(refused, ErrorCodes.Unavailable, path);
        Assert.DoesNotContain("Exception", refused.Message, StringComparison.Ordinal);

        // The administrator checks the disk and mounts it again: the first step's checkpoint is there, the file is sound.
        fileSystem.MountAgain();
        Assert.Equal("ok", Text(path, "PRAGMA integrity_check;"));
        await AssertResumesAfterTheFirstStepAsync(await EmbeddedArcp.OpenAsync(path, null, bounded.Token), workflow, jobId, bounded.Token);
        Assert.Equal("ok", Text(path, "PRAGMA integrity_check;"));
    }

    public void Dispose() => files.Dispose();

    /// <summary>Starts the workflow on <paramref name="arcp"/> until the store refuses a write, closes it, and returns the refusal and the job's id.</summary>
    /// <summary>The refusal an operator sees: the code, retryable (the fault is the machine's, not the job's), naming the store.</summary>
    private static void AssertRetryableStoreFailure(ArcpException refused, string code, string store)
    {
        Assert.Equal(code, refused.Code);
        Assert.True(refused.Error.IsRetryable);
        Assert.Contains($"The store '{store}' failed: ", refused.Message, StringComparison.Ordinal);
    }

    private static async Task<(ArcpException Refused, string JobId)> RunUntilRefusedAsync(EmbeddedArcp arcp, FillingWorkflow workflow, string name, CancellationToken cancellationToken)
    {
        var observer = new JobIdObserver();
        var refused = await Assert.ThrowsAsync<ArcpException>(() => new StepRunner(arcp.Client).StartAsync(workflow.Definition, JsonValue.Create("input"), name, null, observer, cancellationToken));
        await arcp.DisposeAsync().AsTask().WaitAsync(cancellationToken);
        return (refused, Assert.IsType<string>(observer.JobId));
    }

    /// <summary>Resumes the job on a store that works again: only the step whose checkpoint was refused runs again, then the last one.</summary>
    private static async Task AssertResumesAfterTheFirstStepAsync(EmbeddedArcp arcp, FillingWorkflow workflow, string jobId, CancellationToken cancellationToken)
    {
        await using var _ = arcp;
        var resumed = await new StepRunner(arcp.Client).ResumeAsync(workflow.Definition, jobId, null, null, null, cancellationToken);

        Assert.Equal("completed", resumed.State);
        Assert.Equal(["bulky", "last"], resumed.StepsRun);
        Assert.Equal(new Dictionary<string, int> { ["small"] = 1, ["bulky"] = 2, ["last"] = 1 }, workflow.Runs);
    }

    private static long Scalar(string path, string sql) => Convert.ToInt64(Query(path, sql), CultureInfo.InvariantCulture);

    private static string Text(string path, string sql) => Convert.ToString(Query(path, sql), CultureInfo.InvariantCulture)!;

    private static object? Query(string path, string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    /// <summary>Three steps; the second one's output (512 KB) needs far more room than the first one's.</summary>
    private sealed class FillingWorkflow
    {
        /// <param name="bulky">Runs in the second step's body before it returns, given the run number (1 the first time).</param>
        public FillingWorkflow(Func<int, Task>? bulky = null)
        {
            Definition = new WorkflowDefinition(
                "filling",
                [
                    new StepDefinition("small", (_, _) => Count("small", JsonValue.Create("first"))),
                    new StepDefinition("bulky", async (_, _) =>
                    {
                        var output = await Count("bulky", JsonValue.Create(new string('x', 512 * 1024)));
                        if (bulky is not null)
                        {
                            await bulky(Runs["bulky"]);
                        }

                        return output;
                    }),
                    new StepDefinition("last", (_, _) => Count("last", JsonValue.Create("done"))),
                ]);
        }

        public Dictionary<string, int> Runs { get; } = [];

        public WorkflowDefinition Definition { get; }

        /// <summary>A workflow whose second step runs <paramref name="fault"/> in its first run only, before it returns.</summary>
        public static FillingWorkflow FaultOnFirstRun(Action fault) => new(bulky: run =>
        {
            if (run == 1)
            {
                fault();
            }

            return Task.CompletedTask;
        });

        private ValueTask<JsonNode?> Count(string step, JsonNode output)
        {
            Runs[step] = Runs.GetValueOrDefault(step) + 1;
            return ValueTask.FromResult<JsonNode?>(output);
        }
    }
}

/// <summary>Remembers the id of the job a run started, so a test can resume it after the run failed.</summary>
internal sealed class JobIdObserver : IStepObserver
{
    public string? JobId { get; private set; }

    public ValueTask StepStartingAsync(StepContext context, CancellationToken cancellationToken)
    {
        JobId = context.JobId;
        return ValueTask.CompletedTask;
    }

    public ValueTask StepReusedAsync(StepContext context, CheckpointSummary recorded, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask CheckpointRecordedAsync(StepContext context, CheckpointSummary checkpoint, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>A fact that needs a small tmpfs of its own: reported as skipped, with the reason, where none can be mounted.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SmallFileSystemFactAttribute : FactAttribute
{
    public SmallFileSystemFactAttribute()
    {
        if (SmallFileSystem.Unavailable is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A fact that needs an ext4 file system it can turn read-only: reported as skipped, with the reason, where none can be made.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ReadOnlyOnErrorFileSystemFactAttribute : FactAttribute
{
    public ReadOnlyOnErrorFileSystemFactAttribute()
    {
        if (ReadOnlyOnErrorFileSystem.Unavailable is { } reason)
        {
            Skip = reason;
        }
    }
}

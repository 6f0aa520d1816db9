using System.Collections.Specialized;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.PowerShell.Scripting;
using Arcp.Resumability.PowerShell.Workers;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store;
using Arcp.Resumability.Tests.Core;
using Microsoft.Data.Sqlite;

namespace Arcp.Resumability.Tests.Cmdlets;

/// <summary>A worker's slot on its own: one session for job after job, and a new one when the session it had ended.</summary>
public sealed class WorkerSlotTests : IDisposable
{
    private const string WorkerId = "wrk_slot_tests";

    private readonly TestStore store = new();

    [Fact]
    public async Task A_slot_runs_jobs_on_one_session_and_replaces_a_session_that_ended_under_it()
    {
        var jobs = await QueueAsync(3, "$_ * 2");
        await using var slot = new WorkerSlot(InitialSessionState.CreateDefault2(), store.Path);

        Assert.Equal((WorkerRunEnd.Completed, (string?)null), await slot.RunAsync(jobs[0].Job, jobs[0].Definition, CancellationToken.None));
        Assert.Equal((WorkerRunEnd.Completed, (string?)null), await slot.RunAsync(jobs[1].Job, jobs[1].Definition, CancellationToken.None));
        Assert.Equal(1, CountSessions());

        // The runtime ends the session between jobs (as it does when its store fails): the next job must not inherit it.
        var ended = slot.SessionClient!;
        await ended.CloseAsync(CancellationToken.None);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        while (ended.IsConnected && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.False(ended.IsConnected);
        Assert.Equal((WorkerRunEnd.Completed, (string?)null), await slot.RunAsync(jobs[2].Job, jobs[2].Definition, CancellationToken.None));
        Assert.Equal(2, CountSessions());
        Assert.NotSame(ended, slot.SessionClient);
    }

    [Fact]
    public async Task A_stopped_run_leaves_its_job_unleased_and_the_slot_without_the_session_that_held_it()
    {
        var job = Assert.Single(await QueueAsync(1, "Start-Sleep -Seconds 60; 1"));
        await using var slot = new WorkerSlot(InitialSessionState.CreateDefault2(), store.Path);
        using var stop = new CancellationTokenSource();

        var run = slot.RunAsync(job.Job, job.Definition, stop.Token);
        await using (var opened = await StoreFactory.OpenAsync(store.Path, StoreOpenMode.MustExist, CancellationToken.None))
        {
            // Stopped once the slot's session holds the job (the worker's claim lease was taken over) and its step sleeps.
            var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
            while ((await opened.GetJobAsync(job.Job.JobId, CancellationToken.None))!.Lease?.SessionId.StartsWith("sess_", StringComparison.Ordinal) != true && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            await stop.CancelAsync();
            Assert.Equal((WorkerRunEnd.Released, (string?)null), await run.WaitAsync(TimeSpan.FromSeconds(30)));

            var left = (await opened.GetJobAsync(job.Job.JobId, CancellationToken.None))!;
            Assert.Equal(JobStates.Running, left.State);
            Assert.Null(left.Lease);
        }

        Assert.Null(slot.SessionClient);
    }

    [Fact]
    public async Task A_warmed_slot_runs_its_first_job_on_the_session_its_warm_up_opened()
    {
        var jobs = await QueueAsync(2, "$_ + 1");
        await using var slot = new WorkerSlot(InitialSessionState.CreateDefault2(), store.Path);
        Assert.True(slot.IsCold);
        Assert.False(slot.IsWarm);

        slot.Warm(CancellationToken.None);
        await slot.Warming!.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(slot.IsWarm);
        var warmed = Assert.IsType<Arcp.Resumability.Client.ArcpClient>(slot.SessionClient);
        Assert.Equal(1, CountSessions());

        Assert.Equal((WorkerRunEnd.Completed, (string?)null), await slot.RunAsync(jobs[0].Job, jobs[0].Definition, CancellationToken.None));
        Assert.Equal((WorkerRunEnd.Completed, (string?)null), await slot.RunAsync(jobs[1].Job, jobs[1].Definition, CancellationToken.None));
        Assert.Same(warmed, slot.SessionClient);
        Assert.Equal(1, CountSessions());
        Assert.Throws<InvalidOperationException>(() => slot.Warm(CancellationToken.None));
    }

    [Fact]
    public async Task A_warm_up_that_cannot_open_the_session_leaves_the_failure_to_the_first_run_to_report()
    {
        var job = Assert.Single(await QueueAsync(1, "1"));
        var missing = Path.Combine(Path.GetDirectoryName(store.Path)!, "missing", "gone.db");
        await using var slot = new WorkerSlot(InitialSessionState.CreateDefault2(), missing);

        slot.Warm(CancellationToken.None);
        var warm = slot.Warming;
        if (warm is not null)
        {
            // The warm-up's own failure is not the slot's to throw: the slot is warm (usable) once it ended either way.
            await Assert.ThrowsAnyAsync<Exception>(() => warm.WaitAsync(TimeSpan.FromSeconds(60)));
        }

        Assert.True(slot.IsWarm);
        Assert.Null(slot.SessionClient);
        var (end, message) = await slot.RunAsync(job.Job, job.Definition, CancellationToken.None);
        Assert.Equal(WorkerRunEnd.Failed, end);
        Assert.False(string.IsNullOrEmpty(message));
    }

    public void Dispose() => store.Dispose();

    /// <summary>Queues <paramref name="count"/> jobs of one inline step and claims them as a worker would, each with the record of its definition.</summary>
    private async Task<List<(JobRecord Job, JobDefinitionRecord Definition)>> QueueAsync(int count, string step)
    {
        var steps = new OrderedDictionary(StringComparer.Ordinal) { ["only"] = ScriptBlock.Create(step) };
        var workflow = WorkflowLoader.FromSteps(steps);
        var claimed = new List<(JobRecord, JobDefinitionRecord)>();
        await using var opened = await StoreFactory.OpenAsync(store.Path, StoreOpenMode.CreateIfMissing, CancellationToken.None);
        var queued = new QueuedJobs(new JobService(opened, new JobServiceOptions()));
        for (var i = 0; i < count; i++)
        {
            await queued.EnqueueAsync(new JobStart(ArcpId.NewJobId(), RuntimeOptions.LocalPrincipal, WorkflowLoader.InlineWorkflowName, null, "21", null, ArcpId.NewMessageId()), "slot", 0, CancellationToken.None);
        }

        while (await queued.ClaimNextAsync(WorkerId, new WorkFilter(RuntimeOptions.LocalPrincipal, ["slot"], null), CancellationToken.None) is { } job)
        {
            claimed.Add((job, RecordedDefinitions.Describe(job.JobId, workflow, null, DateTimeOffset.UtcNow) with { Principal = RuntimeOptions.LocalPrincipal }));
        }

        return claimed;
    }

    private long CountSessions()
    {
        using var connection = new SqliteConnection($"Data Source={store.Path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sessions;";
        return (long)command.ExecuteScalar()!;
    }
}

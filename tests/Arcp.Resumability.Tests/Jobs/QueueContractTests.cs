using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;
using Arcp.Resumability.Tests.Store;

namespace Arcp.Resumability.Tests.Jobs;

/// <summary>The durable queue and schedules, run against each store.</summary>
public abstract class QueueContractTests
{
    protected const string Principal = "alice";

    private static readonly WorkFilter Everything = new(Principal, null, null);

    private readonly ManualClock clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>A new connection to the same store (another worker process, as far as the store can tell).</summary>
    protected abstract Task<IArcpStore> OpenAsync();

    [Fact]
    public async Task A_queued_job_waits_unleased_and_its_key_returns_the_same_job()
    {
        await using var store = await OpenAsync();
        var queued = Queued(store);

        var (job, existing) = await queued.EnqueueAsync(Start("w", key: "k1"), "reports", 0, default);
        var (again, existingAgain) = await queued.EnqueueAsync(Start("w", key: "k1"), "reports", 0, default);

        Assert.False(existing);
        Assert.True(existingAgain);
        Assert.Equal(job.JobId, again.JobId);
        var stored = await store.GetJobAsync(job.JobId, default);
        Assert.Equal(JobStates.Queued, stored!.State);
        Assert.Null(stored.Lease);
        var summary = JobSummaries.Of(stored, clock.GetUtcNow());
        Assert.False(summary.Interrupted);
        Assert.Empty(await queued.ListResumableAsync("wrk_a", Everything, default));
    }

    [Fact]
    public async Task Claims_take_the_highest_priority_then_the_oldest_and_only_what_the_filter_allows()
    {
        await using var store = await OpenAsync();
        var queued = Queued(store);
        var low = await EnqueueAsync(queued, "w", "q", 0);
        clock.Advance(TimeSpan.FromSeconds(1));
        var high = await EnqueueAsync(queued, "w", "q", 5);
        clock.Advance(TimeSpan.FromSeconds(1));
        var otherWorkflow = await EnqueueAsync(queued, "other", "q", 9);
        var otherQueue = await EnqueueAsync(queued, "w", "elsewhere", 9);
        var bobs = (await queued.EnqueueAsync(Start("w") with { Principal = "bob" }, "q", 10, default)).Job.JobId;

        var filter = new WorkFilter(Principal, ["q"], ["w"]);
        var first = await queued.ClaimNextAsync("wrk_a", filter, default);
        var second = await queued.ClaimNextAsync("wrk_a", filter, default);
        var none = await queued.ClaimNextAsync("wrk_a", filter, default);

        Assert.Equal(high, first!.JobId);
        Assert.Equal(low, second!.JobId);
        Assert.Null(none);
        Assert.Equal(JobStates.Running, first.State);
        foreach (var untouched in new[] { otherWorkflow, otherQueue, bobs })
        {
            Assert.Equal(JobStates.Queued, (await store.GetJobAsync(untouched, default))!.State);
        }
    }

    [Fact]
    public async Task A_queue_limit_holds_until_a_job_finishes_or_its_claim_goes_stale()
    {
        await using var store = await OpenAsync();
        var queued = Queued(store);
        await queued.SetConcurrencyAsync("q", 1, default);
        var a = await EnqueueAsync(queued, "w", "q", 0);
        var b = await EnqueueAsync(queued, "w", "q", 0);
        var c = await EnqueueAsync(queued, "w", "q", 0);

        Assert.Equal(a, (await queued.ClaimNextAsync("wrk_a", Everything, default))!.JobId);
        Assert.Null(await queued.ClaimNextAsync("wrk_b", Everything, default));

        // The claimed job is leased and finished by its runner: the slot is free again.
        var holder = new JobHolder("ses_runner", Principal, ProcessIdentity.Current);
        await InTransactionAsync(store, tx => queued.Jobs.ClaimAsync(tx, a, holder.SessionId, holder, default));
        Assert.Null(await queued.ClaimNextAsync("wrk_b", Everything, default));
        await InTransactionAsync(store, tx => queued.Jobs.RecordAsync(tx, holder, a, new JobEvent(ArcpId.NewMessageId(), false) { TerminalState = JobStates.Completed, Result = "1" }, default));
        Assert.Equal(b, (await queued.ClaimNextAsync("wrk_b", Everything, default))!.JobId);

        // A claim whose worker never leased the job stops holding the slot after the grace period.
        Assert.Null(await queued.ClaimNextAsync("wrk_c", Everything, default));
        clock.Advance(queued.ClaimGrace + TimeSpan.FromSeconds(1));
        Assert.Equal(c, (await queued.ClaimNextAsync("wrk_c", Everything, default))!.JobId);
    }

    [Fact]
    public async Task A_claimed_job_is_leased_to_its_claimer_until_the_claim_expires_then_anyone_may_resume_it()
    {
        await using var store = await OpenAsync();
        var queued = Queued(store);
        var job = await EnqueueAsync(queued, "w", "q", 0);
        var claimed = await queued.ClaimNextAsync("wrk_a", Everything, default);

        Assert.Equal("wrk_a", claimed!.Lease!.SessionId);
        Assert.False(JobSummaries.Of(claimed, clock.GetUtcNow()).Interrupted);
        Assert.Empty(await queued.ListResumableAsync("wrk_a", Everything, default));
        Assert.Empty(await queued.ListResumableAsync("wrk_b", Everything, default));

        clock.Advance(queued.ClaimGrace + TimeSpan.FromSeconds(1));
        Assert.Equal([job], (await queued.ListResumableAsync("wrk_b", Everything, default)).Select(j => j.JobId));
        Assert.Empty(await queued.ListResumableAsync("wrk_b", new WorkFilter(Principal, ["other"], null), default));

        var holder = new JobHolder("ses_runner", Principal, ProcessIdentity.Current);
        await InTransactionAsync(store, tx => queued.Jobs.ClaimAsync(tx, job, holder.SessionId, holder, default));
        Assert.Empty(await queued.ListResumableAsync("wrk_b", Everything, default));
    }

    [Fact]
    public async Task The_claimers_own_process_takes_the_claim_over_another_process_cannot_and_a_release_frees_it()
    {
        await using var store = await OpenAsync();
        var queued = Queued(store);
        var first = await EnqueueAsync(queued, "w", "q", 0);
        var second = await EnqueueAsync(queued, "w", "q", 0);
        var claimer = QueuedJobs.NewClaimerId();
        await queued.ClaimNextAsync(claimer, Everything, default);
        await queued.ClaimNextAsync(claimer, Everything, default);

        // The runner this process starts takes the claim over.
        var runner = new JobHolder("ses_runner", Principal, ProcessIdentity.Current);
        await InTransactionAsync(store, tx => queued.Jobs.ClaimAsync(tx, first, runner.SessionId, runner, default));
        Assert.Equal("ses_runner", (await store.GetJobAsync(first, default))!.Lease!.SessionId);

        // A claim of another process (a worker on another machine) stays fenced.
        var stored = (await store.GetJobAsync(second, default))!;
        var foreign = stored with { Lease = stored.Lease! with { Host = "elsewhere.example" } };
        await InTransactionAsync(store, tx => tx.UpdateJobAsync(foreign, default));
        await using (var tx = await store.BeginAsync(CommitDurability.Durable, default))
        {
            Assert.Equal(ErrorCodes.Aborted, (await Assert.ThrowsAsync<ArcpException>(() => queued.Jobs.ClaimAsync(tx, second, "ses_other", null, default))).Code);
        }

        // The claimer gives it up: the job is free for anyone at once, not after the claim's expiry.
        await InTransactionAsync(store, tx => tx.UpdateJobAsync(foreign with { Lease = stored.Lease }, default));
        await queued.ReleaseClaimAsync(claimer, second, default);
        Assert.Null((await store.GetJobAsync(second, default))!.Lease);
        Assert.Equal([second], (await queued.ListResumableAsync("wrk_b", Everything, default)).Select(j => j.JobId));
    }

    [Fact]
    public async Task Two_claimers_on_their_own_connections_never_take_one_job()
    {
        const int count = 30;
        await using (var setup = await OpenAsync())
        {
            var queued = Queued(setup);
            for (var i = 0; i < count; i++)
            {
                await EnqueueAsync(queued, "w", "q", i % 3);
            }
        }

        var first = await OpenAsync();
        var second = await OpenAsync();
        await using (first)
        await using (second)
        {
            var claims = await Task.WhenAll(DrainAsync(Queued(first), "wrk_1"), DrainAsync(Queued(second), "wrk_2"));

            var all = claims.SelectMany(c => c).ToList();
            Assert.Equal(count, all.Count);
            Assert.Equal(count, all.Distinct().Count());
        }
    }

    [Fact]
    public async Task Four_workers_on_their_own_connections_never_run_more_of_a_queue_than_its_limit()
    {
        const int count = 16;
        await using (var setup = await OpenAsync())
        {
            var queued = Queued(setup);
            await queued.SetConcurrencyAsync("q", 2, default);
            for (var i = 0; i < count; i++)
            {
                await EnqueueAsync(queued, "w", "q", 0);
            }
        }

        var active = 0;
        var mostActive = 0;
        var done = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(45));

        async Task WorkAsync(int worker)
        {
            await using var store = await OpenAsync();
            var queued = Queued(store);
            var holder = new JobHolder($"ses_{worker}", Principal, ProcessIdentity.Current);
            while (done.Count < count && !timeout.IsCancellationRequested)
            {
                if (await queued.ClaimNextAsync($"wrk_{worker}", Everything, default) is not { } job)
                {
                    await Task.Delay(5);
                    continue;
                }

                await InTransactionAsync(store, tx => queued.Jobs.ClaimAsync(tx, job.JobId, holder.SessionId, holder, default));

                // Counted only between the lease and the completion: inside the window the store counts the job as active.
                var now = Interlocked.Increment(ref active);
                InterlockedMax(ref mostActive, now);
                await Task.Delay(15);
                Interlocked.Decrement(ref active);
                await InTransactionAsync(store, tx => queued.Jobs.RecordAsync(tx, holder, job.JobId, new JobEvent(ArcpId.NewMessageId(), false) { TerminalState = JobStates.Completed, Result = "1" }, default));
                done.Add(job.JobId);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(WorkAsync));

        Assert.Equal(count, done.Count);
        Assert.Equal(count, done.Distinct().Count());
        Assert.InRange(mostActive, 1, 2);
    }

    [Fact]
    public async Task An_interrupted_queued_job_resumes_only_into_a_free_slot_of_its_queues_limit()
    {
        await using var store = await OpenAsync();
        await using var elsewhere = await OpenAsync();
        var queued = Queued(store);
        var first = await EnqueueAsync(queued, "w", "q", 0);
        var second = await EnqueueAsync(queued, "w", "q", 0);
        await CrashWhileRunningAsync(store, queued, first);
        await CrashWhileRunningAsync(store, queued, second);
        var waiting = await EnqueueAsync(queued, "w", "q", 0);
        await queued.SetConcurrencyAsync("q", 1, default);

        // Their worker was killed: their leases have not expired, but their process is gone, so both are resumable.
        var resumable = (await queued.ListResumableAsync("wrk_new", Everything, default)).OrderBy(j => j.CreatedAt).ToList();
        Assert.Equal([first, second], resumable.Select(j => j.JobId));

        var resumed = await queued.ClaimResumeAsync("wrk_new", resumable[0], default);
        Assert.Equal(("wrk_new", JobStates.Running), (resumed!.Lease!.SessionId, resumed.State));
        Assert.Null(await queued.ClaimResumeAsync("wrk_new", resumable[1], default));
        Assert.Null(await Queued(elsewhere).ClaimResumeAsync("wrk_other", resumable[1], default));
        Assert.Null(await Queued(elsewhere).ClaimResumeAsync("wrk_other", resumable[0], default));
        Assert.Null(await queued.ClaimNextAsync("wrk_new", Everything, default));

        // The resume this process starts takes the claim over and finishes: the slot goes to the other interrupted job.
        var runner = new JobHolder("ses_runner", Principal, ProcessIdentity.Current);
        await InTransactionAsync(store, tx => queued.Jobs.ClaimAsync(tx, first, runner.SessionId, runner, default));
        Assert.Null(await queued.ClaimResumeAsync("wrk_new", resumable[1], default));
        await InTransactionAsync(store, tx => queued.Jobs.RecordAsync(tx, runner, first, new JobEvent(ArcpId.NewMessageId(), false) { TerminalState = JobStates.Completed, Result = "1" }, default));
        Assert.Equal(JobStates.Completed, (await store.GetJobAsync(first, default))!.State);
        Assert.Equal(second, (await Queued(elsewhere).ClaimResumeAsync("wrk_other", resumable[1], default))!.JobId);
        Assert.Null(await queued.ClaimNextAsync("wrk_new", Everything, default));
        Assert.Equal(JobStates.Queued, (await store.GetJobAsync(waiting, default))!.State);
    }

    [Fact]
    public async Task A_queue_counted_full_by_the_job_of_a_gone_process_gives_its_slot_to_the_next_claim()
    {
        await using var store = await OpenAsync();
        await using var elsewhere = await OpenAsync();
        var queued = Queued(store);
        var crashed = await EnqueueAsync(queued, "w", "q", 0);
        await CrashWhileRunningAsync(store, queued, crashed);
        var next = await EnqueueAsync(queued, "w", "q", 0);
        var last = await EnqueueAsync(queued, "w", "q", 0);
        await queued.SetConcurrencyAsync("q", 1, default);

        // The crashed job's lease has not expired, so the store counts the queue full; its process is gone, so it holds no slot.
        var claimed = await Queued(elsewhere).ClaimNextAsync("wrk_b", Everything, default);

        Assert.Equal(next, claimed!.JobId);
        Assert.Equal(("wrk_b", JobStates.Running), (claimed.Lease!.SessionId, claimed.State));
        var stored = await store.GetJobAsync(next, default);
        Assert.Equal(("wrk_b", JobStates.Running), (stored!.Lease!.SessionId, stored.State));
        Assert.Null(await queued.ClaimNextAsync("wrk_a", Everything, default));
        Assert.Equal(JobStates.Queued, (await store.GetJobAsync(last, default))!.State);
    }

    [Fact]
    public async Task Bad_queue_and_schedule_input_is_refused_with_invalid_argument()
    {
        await using var store = await OpenAsync();
        var schedules = new JobSchedules(Queued(store));

        Assert.Equal(ErrorCodes.InvalidArgument, (await Assert.ThrowsAsync<ArcpException>(() => Queued(store).EnqueueAsync(Start("w"), "bad\nname", 0, default))).Code);
        Assert.Equal(ErrorCodes.InvalidArgument, (await Assert.ThrowsAsync<ArcpException>(() => Queued(store).SetConcurrencyAsync("q", 0, default))).Code);
        Assert.Equal(ErrorCodes.InvalidArgument, (await Assert.ThrowsAsync<ArcpException>(() => schedules.RegisterAsync(Principal, Schedule("s", "61 * * * *"), default))).Code);
        Assert.Equal(ErrorCodes.InvalidArgument, (await Assert.ThrowsAsync<ArcpException>(() => schedules.RegisterAsync(Principal, Schedule("s", "* * * * *") with { TimeZone = "Mars/Olympus" }, default))).Code);
        Assert.Empty(await schedules.ListAsync(Principal, default));
        await schedules.RegisterAsync(Principal, Schedule("s", "* * * * *"), default);
        Assert.Equal(ErrorCodes.AlreadyExists, (await Assert.ThrowsAsync<ArcpException>(() => schedules.RegisterAsync(Principal, Schedule("s", "*/5 * * * *"), default))).Code);
        Assert.Equal(ErrorCodes.NotFound, (await Assert.ThrowsAsync<ArcpException>(() => schedules.UnregisterAsync(Principal, "missing", default))).Code);
        Assert.Equal(ErrorCodes.NotFound, (await Assert.ThrowsAsync<ArcpException>(() => schedules.UnregisterAsync("bob", "s", default))).Code);
    }

    [Fact]
    public async Task Each_fire_time_queues_one_job_however_many_workers_look()
    {
        await using var store = await OpenAsync();
        await using var other = await OpenAsync();
        var schedules = new JobSchedules(Queued(store));
        var elsewhere = new JobSchedules(Queued(other));
        var registered = await schedules.RegisterAsync(Principal, Schedule("tick", "*/10 * * * * *"), default);
        Assert.Equal(clock.GetUtcNow().AddSeconds(10), registered.NextFireAt);

        Assert.Empty(await schedules.FireDueAsync(ArcpId.NewJobId, ArcpId.NewMessageId, default));
        clock.Advance(TimeSpan.FromSeconds(10));
        var runs = await Task.WhenAll(
            schedules.FireDueAsync(ArcpId.NewJobId, ArcpId.NewMessageId, default),
            elsewhere.FireDueAsync(ArcpId.NewJobId, ArcpId.NewMessageId, default),
            schedules.FireDueAsync(ArcpId.NewJobId, ArcpId.NewMessageId, default));

        var run = Assert.Single(runs.SelectMany(r => r));
        Assert.Equal(registered.NextFireAt, run.FireTime);
        Assert.Equal(JobSchedules.RunKey("tick", run.FireTime), run.Job.IdempotencyKey);
        Assert.Equal(JobStates.Queued, run.Job.State);
        var listed = Assert.Single(await schedules.ListAsync(Principal, default));
        Assert.Equal(run.FireTime.AddSeconds(10), listed.NextFireAt);
        Assert.Equal(run.FireTime, listed.LastFireAt);
    }

    [Theory]
    [InlineData(ScheduleMissedPolicy.Skip, 0)]
    [InlineData(ScheduleMissedPolicy.RunOnce, 1)]
    public async Task Fire_times_missed_while_no_worker_was_up_follow_the_schedules_policy(ScheduleMissedPolicy policy, int expectedRuns)
    {
        await using var store = await OpenAsync();
        var schedules = new JobSchedules(Queued(store)) { OnTimeWindow = TimeSpan.FromSeconds(30) };
        var registered = await schedules.RegisterAsync(Principal, Schedule("hourly", "0 * * * *") with { Missed = policy }, default);

        // Down for five hours and back at a quarter past: five fire times passed, none of them on time.
        clock.Advance(TimeSpan.FromHours(5.25));
        var runs = await schedules.FireDueAsync(ArcpId.NewJobId, ArcpId.NewMessageId, default);

        Assert.Equal(expectedRuns, runs.Count);
        Assert.All(runs, r => Assert.Equal(registered.NextFireAt, r.FireTime));
        Assert.Equal(registered.NextFireAt.AddHours(5), Assert.Single(await schedules.ListAsync(Principal, default)).NextFireAt);
        Assert.Empty(await schedules.FireDueAsync(ArcpId.NewJobId, ArcpId.NewMessageId, default));
    }

    [Fact]
    public async Task A_schedule_fires_on_local_time_across_a_daylight_saving_change()
    {
        await using var store = await OpenAsync();
        var schedules = new JobSchedules(Queued(store));

        // 29 March 2026, Paris moves from UTC+1 to UTC+2: 09:00 local is 08:00 UTC the day before and 07:00 UTC that day.
        var registered = await schedules.RegisterAsync(Principal, Schedule("morning", "0 9 * * *") with { TimeZone = "Europe/Paris" }, default);
        var next = JobSchedules.ParseCron("0 9 * * *").GetNextOccurrence(new DateTimeOffset(2026, 3, 28, 12, 0, 0, TimeSpan.Zero), JobSchedules.FindTimeZone("Europe/Paris"));

        Assert.Equal(new DateTimeOffset(2026, 3, 2, 8, 0, 0, TimeSpan.Zero), registered.NextFireAt);
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 7, 0, 0, TimeSpan.Zero), next);
    }

    [Fact]
    public async Task An_inline_schedule_keeps_its_steps_and_each_run_it_fires_records_them_as_the_jobs_inline_definition()
    {
        await using var store = await OpenAsync();
        var queued = Queued(store);
        var schedules = new JobSchedules(queued);
        var steps = Steps("""{"steps":[{"name":"answer","run":" 6 * 7 "}]}""");
        await schedules.RegisterAsync(Principal, Schedule("inline-tick", "*/10 * * * * *") with { Workflow = JobDefinitionKinds.Inline, Steps = steps }, default);
        await schedules.RegisterAsync(Principal, Schedule("named-tick", "*/10 * * * * *"), default);

        var listed = await schedules.ListAsync(Principal, default);
        Assert.Equal(steps, listed.Single(s => s.Name == "inline-tick").Steps);
        Assert.Null(listed.Single(s => s.Name == "named-tick").Steps);

        clock.Advance(TimeSpan.FromSeconds(10));
        var runs = await schedules.FireDueAsync(ArcpId.NewJobId, ArcpId.NewMessageId, default);

        var inlineRun = runs.Single(r => r.Schedule == "inline-tick");
        Assert.Equal(JobDefinitionKinds.Inline, inlineRun.Job.Workflow);
        var recorded = await queued.Jobs.GetRecordedDefinitionAsync(Principal, inlineRun.Job.JobId, default);
        Assert.NotNull(recorded);
        Assert.Equal(
            (Principal, JobDefinitionKinds.Inline, JobDefinitionKinds.Inline, steps.Script, steps.ContentHash, steps.Version),
            (recorded.Principal, recorded.Kind, recorded.Reference, recorded.Script, recorded.ContentHash, recorded.Version));
        Assert.Null(await queued.Jobs.GetRecordedDefinitionAsync(Principal, runs.Single(r => r.Schedule == "named-tick").Job.JobId, default));
    }

    [Fact]
    public async Task Inline_schedule_steps_that_do_not_match_their_hash_or_workflow_are_refused_with_invalid_argument()
    {
        await using var store = await OpenAsync();
        var schedules = new JobSchedules(Queued(store));
        var steps = Steps("""{"steps":[{"name":"answer","run":"42"}]}""");

        var inline = Schedule("s", "* * * * *") with { Workflow = JobDefinitionKinds.Inline };
        Assert.Equal(ErrorCodes.InvalidArgument, (await Assert.ThrowsAsync<ArcpException>(() => schedules.RegisterAsync(Principal, inline, default))).Code);
        Assert.Equal(ErrorCodes.InvalidArgument, (await Assert.ThrowsAsync<ArcpException>(() => schedules.RegisterAsync(Principal, inline with { Steps = steps with { ContentHash = Steps("{}").ContentHash } }, default))).Code);
        Assert.Equal(ErrorCodes.InvalidArgument, (await Assert.ThrowsAsync<ArcpException>(() => schedules.RegisterAsync(Principal, Schedule("s", "* * * * *") with { Steps = steps }, default))).Code);
        Assert.Empty(await schedules.ListAsync(Principal, default));
    }

    private QueuedJobs Queued(IArcpStore store) => new(new JobService(store, new JobServiceOptions { Clock = clock }));

    private static JobStart Start(string workflow, string? key = null) =>
        new(ArcpId.NewJobId(), Principal, workflow, null, "{}", key, ArcpId.NewMessageId());

    private static ScheduleDefinition Schedule(string name, string cron) =>
        new(name, cron, "UTC", "w", "{}", QueuedJobs.DefaultQueue, ScheduleMissedPolicy.Skip);

    private static ScheduleSteps Steps(string script) =>
        new(script, "sha256:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(script))).ToLowerInvariant(), "v-test");

    /// <summary>Enqueues a job a moment after the previous one, so equal priorities claim in a known order.</summary>
    private async Task<string> EnqueueAsync(QueuedJobs queued, string workflow, string queue, int priority)
    {
        clock.Advance(TimeSpan.FromMilliseconds(1));
        return (await queued.EnqueueAsync(Start(workflow), queue, priority, default)).Job.JobId;
    }

    /// <summary>Claims <paramref name="jobId"/> and leases it to a runner of a process that is gone (its id was recycled).</summary>
    private static async Task CrashWhileRunningAsync(IArcpStore store, QueuedJobs queued, string jobId)
    {
        var claimer = QueuedJobs.NewClaimerId();
        Assert.Equal(jobId, (await queued.ClaimNextAsync(claimer, Everything, default))!.JobId);
        var current = ProcessIdentity.Current;
        var gone = new JobHolder("ses_gone_" + jobId, Principal, current with { StartedAt = current.StartedAt.AddHours(-1) });
        await InTransactionAsync(store, tx => queued.Jobs.ClaimAsync(tx, jobId, gone.SessionId, gone, default));
    }

    private static async Task<List<string>> DrainAsync(QueuedJobs queued, string worker)
    {
        var taken = new List<string>();
        while (await queued.ClaimNextAsync(worker, Everything, default) is { } job)
        {
            taken.Add(job.JobId);
            await Task.Yield();
        }

        return taken;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen && Interlocked.CompareExchange(ref target, value, seen) is var before && before != seen)
        {
            seen = before;
        }
    }

    private static async Task InTransactionAsync(IArcpStore store, Func<IStoreTransaction, Task> work)
    {
        await using var tx = await store.BeginAsync(CommitDurability.Durable, default);
        await work(tx);
        await tx.CommitAsync(default);
    }
}

public sealed class SqliteQueueContractTests : QueueContractTests, IDisposable
{
    private readonly Core.TestStore files = new();

    public void Dispose() => files.Dispose();

    protected override Task<IArcpStore> OpenAsync() => StoreFactory.OpenAsync(files.Path, default);
}

[Collection(PostgresTests.Name)]
public sealed class PostgresQueueContractTests(PostgresServer server) : QueueContractTests, IAsyncLifetime
{
    private string connectionString = string.Empty;

    public async Task InitializeAsync() => connectionString = await server.CreateSchemaAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    protected override Task<IArcpStore> OpenAsync() => StoreFactory.OpenAsync(connectionString, default);
}

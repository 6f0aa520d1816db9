using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Tests.Store;

/// <summary>
/// Migration 0006: a retry is a new job linked to the failed or cancelled job it continues; checkpoints keep their
/// step's start, attempts and duration.
/// </summary>
public abstract partial class StoreContractTests
{
    [Theory]
    [InlineData(JobStates.Failed)]
    [InlineData(JobStates.Cancelled)]
    public async Task A_retry_of_a_failed_or_cancelled_job_records_its_link_and_leaves_the_original_alone(string state)
    {
        await using var store = await OpenAsync();
        var original = NewJob("job_orig") with { State = state, Error = "{\"code\":\"UNKNOWN\",\"message\":\"broke\"}" };
        await InTransactionAsync(store, tx => tx.InsertJobAsync(original, default));
        var jobs = new JobService(store, new JobServiceOptions());

        await InTransactionAsync(store, tx => jobs.StartAsync(tx, Retry("job_retry", "job_orig"), null, default));

        Assert.Equal("job_orig", (await store.GetJobAsync("job_retry", default))?.RetryOf);
        Assert.Equal("job_orig", jobs.Summarize((await store.GetJobAsync("job_retry", default))!).RetryOf);
        var unchanged = await store.GetJobAsync("job_orig", default);
        Assert.Equal(state, unchanged?.State);
        Assert.Null(unchanged?.RetryOf);
    }

    [Fact]
    public async Task A_retry_needs_a_terminal_failure_of_the_same_workflow_and_principal()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_running"), default));
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_done") with { State = JobStates.Completed }, default));
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_failed") with { State = JobStates.Failed }, default));
        var jobs = new JobService(store, new JobServiceOptions());

        async Task<string> RefusedAsync(JobStart start)
        {
            var refused = await Assert.ThrowsAsync<ArcpException>(() => InTransactionAsync(store, tx => jobs.StartAsync(tx, start, null, default)));
            return refused.Code;
        }

        Assert.Equal(ErrorCodes.FailedPrecondition, await RefusedAsync(Retry("job_r1", "job_running")));
        Assert.Equal(ErrorCodes.FailedPrecondition, await RefusedAsync(Retry("job_r2", "job_done")));
        Assert.Equal(ErrorCodes.InvalidArgument, await RefusedAsync(Retry("job_r3", "job_failed") with { Workflow = "other" }));
        Assert.Equal(ErrorCodes.NotFound, await RefusedAsync(Retry("job_r4", "job_failed") with { Principal = "remote:mallory" }));
        Assert.Equal(ErrorCodes.NotFound, await RefusedAsync(Retry("job_r5", "job_missing")));
        foreach (var refusedId in new[] { "job_r1", "job_r2", "job_r3", "job_r4", "job_r5" })
        {
            Assert.Null(await store.GetJobAsync(refusedId, default));
        }
    }

    [Fact]
    public async Task A_checkpoint_keeps_its_steps_start_attempts_and_duration_and_an_older_one_reads_them_as_unknown()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_timed"), default));
        var timed = new CheckpointRecord("chk_timed", "job_timed", 0, "one", "msg_timed", "key_timed", T0, "1")
        {
            StartedAt = T0.AddSeconds(-42),
            Attempts = 3,
            DurationMs = 41_250,
        };
        await InTransactionAsync(store, tx => tx.TryInsertCheckpointAsync(timed, default));
        await InTransactionAsync(store, tx => tx.TryInsertCheckpointAsync(new CheckpointRecord("chk_plain", "job_timed", 1, "two", "msg_plain", "key_plain", T0, "2"), default));

        var read = await store.ListCheckpointsAsync("job_timed", default);

        AssertClose(T0.AddSeconds(-42), read[0].StartedAt!.Value);
        Assert.Equal(3, read[0].Attempts);
        Assert.Equal(41_250, read[0].DurationMs);
        var summary = JobSummaries.Of(read[0], includeOutput: false);
        Assert.Equal((3, 41_250L), (summary.Attempts, summary.DurationMs));
        Assert.NotNull(summary.StartedAt);
        Assert.Null(read[1].StartedAt);
        Assert.Null(read[1].Attempts);
        Assert.Null(read[1].DurationMs);
    }

    private static JobStart Retry(string jobId, string original) =>
        new(jobId, "local:test", "counting", null, "null", null, "msg_" + jobId) { RetryOf = original };
}

using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Tests.Store;

/// <summary>Migration 0005: where each job's definition came from, recorded and read only for the job's own principal.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task A_recorded_definition_round_trips_and_the_first_record_of_a_job_stays()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_def"), default));
        var jobs = new JobService(store, new JobServiceOptions());
        var file = Definition("job_def", JobDefinitionKinds.File, "/srv/flows/rotate.ps1", "sha256:" + new string('a', 64), "3", null);

        Assert.True(await jobs.RecordDefinitionAsync(file, default));
        Assert.False(await jobs.RecordDefinitionAsync(file with { Reference = "/elsewhere/other.ps1", ContentHash = "sha256:" + new string('b', 64) }, default));

        var read = await jobs.GetRecordedDefinitionAsync("local:test", "job_def", default);
        Assert.NotNull(read);
        Assert.Equal(file with { RecordedAt = read.RecordedAt }, read);
        AssertClose(file.RecordedAt, read.RecordedAt);
        // A caller that read the job already (a worker's claim) gets the same record.
        Assert.Equal(read, await jobs.GetRecordedDefinitionAsync("local:test", (await store.GetJobAsync("job_def", default))!, default));
    }

    [Fact]
    public async Task A_recorded_definition_is_read_while_a_writer_holds_the_job()
    {
        // A worker reads the definition of every job it claims; the read took a transaction, and with it the job's
        // row lock on PostgreSQL and the store's write lock on SQLite, so it queued behind any writer of the job in
        // another process (here a second store on the same data, as another process opens it).
        await using var store = await OpenAsync();
        await using var otherProcess = await OpenAsync();
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_held"), default));
        var jobs = new JobService(store, new JobServiceOptions());
        var file = Definition("job_held", JobDefinitionKinds.File, "/srv/flows/rotate.ps1", "sha256:" + new string('a', 64), "3", null);
        await jobs.RecordDefinitionAsync(file, default);

        var writer = await otherProcess.BeginAsync(CommitDurability.Durable, default);
        await using (writer)
        {
            Assert.NotNull(await writer.GetJobAsync("job_held", default));
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(10));

            var read = await jobs.GetRecordedDefinitionAsync("local:test", "job_held", patience.Token);

            Assert.Equal(file.ContentHash, read?.ContentHash);
        }
    }

    [Fact]
    public async Task An_inline_definition_keeps_its_script_text()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_inline"), default));
        var jobs = new JobService(store, new JobServiceOptions());
        const string script = "{\"steps\":[{\"name\":\"a\",\"run\":\" 'A' \"}]}";
        await jobs.RecordDefinitionAsync(Definition("job_inline", JobDefinitionKinds.Inline, "inline", "sha256:" + new string('c', 64), "sha256:0123456789abcdef", script), default);

        Assert.Equal(script, (await jobs.GetRecordedDefinitionAsync("local:test", "job_inline", default))?.Script);
    }

    [Fact]
    public async Task A_definition_is_recorded_and_read_only_for_the_jobs_own_principal()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_owned"), default));
        var jobs = new JobService(store, new JobServiceOptions());
        var foreign = Definition("job_owned", JobDefinitionKinds.BuiltIn, "research", "sha256:" + new string('d', 64), "1", null) with { Principal = "remote:mallory" };

        var refused = await Assert.ThrowsAsync<ArcpException>(() => jobs.RecordDefinitionAsync(foreign, default));
        Assert.Equal(ErrorCodes.NotFound, refused.Code);
        var hidden = await Assert.ThrowsAsync<ArcpException>(() => jobs.GetRecordedDefinitionAsync("remote:mallory", "job_owned", default));
        Assert.Equal(ErrorCodes.NotFound, hidden.Code);

        // A row another principal's writer planted in the store is not handed to this job's principal.
        await InTransactionAsync(store, tx => tx.TryInsertJobDefinitionAsync(foreign, default));
        Assert.Null(await jobs.GetRecordedDefinitionAsync("local:test", "job_owned", default));
        // Nor does it make the job visible to the principal it names.
        Assert.Equal(ErrorCodes.NotFound, (await Assert.ThrowsAsync<ArcpException>(() => jobs.GetRecordedDefinitionAsync("remote:mallory", "job_owned", default))).Code);
        Assert.Null(await store.GetJobDefinitionAsync("job_owned", default));
        var job = (await store.GetJobAsync("job_owned", default))!;
        Assert.Null(await jobs.GetRecordedDefinitionAsync("local:test", job, default));
        Assert.Equal(ErrorCodes.NotFound, (await Assert.ThrowsAsync<ArcpException>(() => jobs.GetRecordedDefinitionAsync("remote:mallory", job, default))).Code);
    }

    [Fact]
    public async Task A_definition_needs_a_known_kind_and_a_sha256_hash_and_only_inline_carries_script()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_bad"), default));
        var jobs = new JobService(store, new JobServiceOptions());
        var good = Definition("job_bad", JobDefinitionKinds.SearchPath, "nightly", "sha256:" + new string('e', 64), "7", null);

        foreach (var bad in new[] { good with { Kind = "url" }, good with { ContentHash = "md5:00" }, good with { Reference = " " }, good with { Script = "{}" }, good with { Kind = JobDefinitionKinds.Inline } })
        {
            Assert.Equal(ErrorCodes.InvalidArgument, (await Assert.ThrowsAsync<ArcpException>(() => jobs.RecordDefinitionAsync(bad, default))).Code);
        }

        Assert.Null(await jobs.GetRecordedDefinitionAsync("local:test", "job_bad", default));
        // The schema refuses an unknown kind even when the service is bypassed.
        await Assert.ThrowsAsync<StoreException>(() => InTransactionAsync(store, tx => tx.TryInsertJobDefinitionAsync(good with { Kind = "url" }, default)));
    }

    [Fact]
    public async Task Removing_a_job_removes_its_recorded_definition()
    {
        await using var store = await OpenAsync();
        await InTransactionAsync(store, tx => tx.InsertJobAsync(NewJob("job_gone") with { State = JobStates.Completed }, default));
        var jobs = new JobService(store, new JobServiceOptions());
        await jobs.RecordDefinitionAsync(Definition("job_gone", JobDefinitionKinds.BuiltIn, "research", "sha256:" + new string('f', 64), "1", null), default);

        await jobs.RemoveJobAsync("job_gone", force: false, T0, default);

        Assert.Equal(0L, Convert.ToInt64(await ExecuteSqlAsync("SELECT COUNT(*) FROM job_definitions;"), System.Globalization.CultureInfo.InvariantCulture));
    }

    private static JobDefinitionRecord Definition(string jobId, string kind, string reference, string hash, string? version, string? script) =>
        new(jobId, "local:test", kind, reference, hash, version, script, T0);
}

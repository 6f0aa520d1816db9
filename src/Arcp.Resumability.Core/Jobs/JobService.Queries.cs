using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Jobs;

/// <summary>What a resume replays and from where: the events after the client's position and the anchor checkpoint.</summary>
public sealed record ResumePlan(JobRecord Job, long AfterSequence, CheckpointRecord? Anchor, IReadOnlyList<StoredEvent> Replay);

/// <summary>One page of a job's checkpoints as stored (outputs as their stored text); <c>Next</c> names the checkpoint to continue after.</summary>
public sealed record CheckpointPage(IReadOnlyList<CheckpointRecord> Checkpoints, string? Next);

/// <summary>Reads, each limited to what one principal may see. None of them writes.</summary>
public sealed partial class JobService
{
    /// <summary>The principal's jobs (or the one named) as summaries, filtered by operator state (<see cref="JobSummaries.OperatorState"/>).</summary>
    public async Task<IReadOnlyList<JobSummary>> QueryJobsAsync(string principal, string? jobId, IReadOnlyCollection<string>? states, CancellationToken cancellationToken)
    {
        IEnumerable<JobRecord> jobs;
        if (jobId is not null)
        {
            var job = await Store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
            jobs = job is not null && job.Principal == principal ? [job] : [];
        }
        else
        {
            jobs = await Store.ListJobsAsync(principal, cancellationToken).ConfigureAwait(false);
        }

        var summaries = jobs.Select(Summarize).Where(s => states is null || states.Contains(JobSummaries.OperatorState(s), StringComparer.OrdinalIgnoreCase)).ToList();
        for (var i = 0; i < summaries.Count; i++)
        {
            // Operators read "where is it" as a step name; the job row only keeps the checkpoint id.
            if (summaries[i].LastCheckpointId is { } checkpointId && await Store.FindCheckpointAsync(summaries[i].JobId, checkpointId, cancellationToken).ConfigureAwait(false) is { } last)
            {
                summaries[i] = summaries[i] with { LastCheckpointStep = last.Step };
            }
        }

        return summaries;
    }

    /// <summary>The job's checkpoints (or the one named, NOT_FOUND when it is not there), as stored: their outputs are not parsed here.</summary>
    public async Task<IReadOnlyList<CheckpointRecord>> ReadCheckpointsAsync(string principal, string jobId, string? checkpointId, CancellationToken cancellationToken)
    {
        await GetVisibleJobAsync(principal, jobId, cancellationToken).ConfigureAwait(false);
        if (checkpointId is not null)
        {
            // One checkpoint is read by its id, not picked out of the job's whole history.
            var named = await Store.FindCheckpointAsync(jobId, checkpointId, cancellationToken).ConfigureAwait(false)
                ?? throw ArcpException.Of(ErrorCodes.NotFound, $"Checkpoint '{checkpointId}' does not exist for job '{jobId}'.", new JsonObject { ["checkpoint_id"] = checkpointId });
            return [named];
        }

        return await Store.ListCheckpointsAsync(jobId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checkpoints in one <c>checkpoint_list</c> page when the query names no smaller limit.</summary>
    public const int MaxCheckpointPageCount = CheckpointQueryPayload.MaxLimit;

    /// <summary>Output text in one page, for the same frame-size reason as <see cref="MaxEventPageBytes"/>.</summary>
    public const int MaxCheckpointPageBytes = 256 * 1024;

    /// <summary>
    /// One page of the job's checkpoints as stored, after <paramref name="afterCheckpointId"/> (from the first
    /// when null): at most <paramref name="limit"/> (capped at <see cref="MaxCheckpointPageCount"/>) and about
    /// <see cref="MaxCheckpointPageBytes"/> of output text; <c>Next</c> names the checkpoint to continue after. A long
    /// job's checkpoints are read a page at a time, so a reader gets the first ones without the whole history being
    /// read, held or sent in one frame.
    /// </summary>
    public async Task<CheckpointPage> ReadCheckpointPageAsync(string principal, string jobId, string? afterCheckpointId, int? limit, CancellationToken cancellationToken)
    {
        if (limit is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "A page holds at least one checkpoint.");
        }

        await GetVisibleJobAsync(principal, jobId, cancellationToken).ConfigureAwait(false);
        if (afterCheckpointId is not null && await Store.FindCheckpointAsync(jobId, afterCheckpointId, cancellationToken).ConfigureAwait(false) is null)
        {
            throw ArcpException.Of(ErrorCodes.NotFound, $"Checkpoint '{afterCheckpointId}' does not exist for job '{jobId}'.", new JsonObject { ["checkpoint_id"] = afterCheckpointId });
        }

        var count = Math.Min(limit ?? MaxCheckpointPageCount, MaxCheckpointPageCount);
        // One more than the page holds tells whether another page follows without a second query.
        var rows = await Store.ListCheckpointsAfterAsync(jobId, afterCheckpointId, count + 1, cancellationToken).ConfigureAwait(false);
        var page = new List<CheckpointRecord>();
        long bytes = 0;
        foreach (var row in rows)
        {
            bytes += row.Output.Length;
            if (page.Count == count || (page.Count > 0 && bytes > MaxCheckpointPageBytes))
            {
                break;
            }

            page.Add(row);
        }

        return new CheckpointPage(page, page.Count < rows.Count ? page[^1].CheckpointId : null);
    }

    /// <summary>The job's last <paramref name="count"/> checkpoints in recording order as stored, read by index (not the whole history).</summary>
    public async Task<IReadOnlyList<CheckpointRecord>> ReadLastCheckpointsAsync(string principal, string jobId, int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        await GetVisibleJobAsync(principal, jobId, cancellationToken).ConfigureAwait(false);
        return await Store.ListLastCheckpointsAsync(jobId, count, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The recorded outcome of the step with <paramref name="idempotencyKey"/>, or null when it never completed.</summary>
    public async Task<CheckpointSummary?> FindStepAsync(string principal, string jobId, string idempotencyKey, CancellationToken cancellationToken)
    {
        await GetVisibleJobAsync(principal, jobId, cancellationToken).ConfigureAwait(false);
        var recorded = await Store.FindCheckpointByKeyAsync(jobId, idempotencyKey, cancellationToken).ConfigureAwait(false);
        return recorded is null ? null : JobSummaries.Of(recorded, includeOutput: true);
    }

    /// <summary>Events in one <c>event_list</c> page when the query names no smaller limit.</summary>
    public const int MaxEventPageCount = 500;

    /// <summary>
    /// Envelope text in one page. JSON escaping can about double it, so a page stays well under the 1 MiB default
    /// frame limit; a single larger event still goes out alone, so paging always advances.
    /// </summary>
    public const int MaxEventPageBytes = 256 * 1024;

    /// <summary>
    /// One page of the job's stream after <paramref name="afterMessageId"/> (from the start when null): at most
    /// <paramref name="limit"/> events (capped at <see cref="MaxEventPageCount"/>) and about
    /// <see cref="MaxEventPageBytes"/> of envelope text; <c>Next</c> names the message to continue after.
    /// </summary>
    public async Task<EventListPayload> QueryEventPageAsync(string principal, string jobId, string? afterMessageId, int? limit, CancellationToken cancellationToken)
    {
        await GetVisibleJobAsync(principal, jobId, cancellationToken).ConfigureAwait(false);
        long afterSequence = 0;
        if (afterMessageId is not null)
        {
            var after = await Store.FindEventAsync(afterMessageId, cancellationToken).ConfigureAwait(false);
            if (after is null || after.JobId != jobId)
            {
                throw ArcpException.Of(ErrorCodes.NotFound, $"Message '{afterMessageId}' is not part of job '{jobId}'s event stream.", new JsonObject { ["after_message_id"] = afterMessageId });
            }

            afterSequence = after.Sequence;
        }

        var stream = await Store.ReadJobStreamAsync(jobId, afterSequence, cancellationToken).ConfigureAwait(false);
        var count = Math.Min(limit ?? MaxEventPageCount, MaxEventPageCount);
        var page = new List<EventSummary>();
        long bytes = 0;
        foreach (var stored in stream)
        {
            bytes += stored.Envelope.Length;
            if (page.Count == count || (page.Count > 0 && bytes > MaxEventPageBytes))
            {
                break;
            }

            page.Add(new EventSummary(stored.Sequence, stored.MessageId, stored.Type, ArcpJson.FormatTimestamp(stored.CreatedAt), stored.Envelope));
        }

        return new EventListPayload(page) { Next = page.Count < stream.Count ? page[^1].MessageId : null };
    }

    /// <summary>
    /// Where a resume starts: the events after <paramref name="afterMessageId"/> and the anchor checkpoint, which is
    /// the one named or else the job's last. This is the only place the anchor is decided; the client takes it from
    /// the <c>resume.replay_complete</c> marker.
    /// </summary>
    /// <param name="afterCheckpoint">
    /// Without <paramref name="afterMessageId"/>: replay only what follows the anchor checkpoint's event (all that is
    /// left when retention took that event), instead of the whole stream.
    /// </param>
    public async Task<ResumePlan> PlanResumeAsync(string principal, string jobId, string? afterMessageId, string? checkpointId, CancellationToken cancellationToken, bool afterCheckpoint = false)
    {
        if (afterMessageId is null && checkpointId is null)
        {
            // What a worker's resume asks: the store reads it all at once (on PostgreSQL, one round trip).
            var sources = await Store.ReadResumeSourcesAsync(jobId, afterCheckpoint, cancellationToken).ConfigureAwait(false);
            return new ResumePlan(EnsureVisible(sources.Job, jobId, principal), sources.AfterSequence, sources.Latest, sources.Replay);
        }

        var job = await GetVisibleJobAsync(principal, jobId, cancellationToken).ConfigureAwait(false);
        long afterSequence = 0;
        if (afterMessageId is not null)
        {
            var after = await Store.FindEventAsync(afterMessageId, cancellationToken).ConfigureAwait(false);
            if (after is null)
            {
                // Once retention purged part of the job's stream, a missing message may be one of those: replay
                // what is left and report DATA_LOSS (§19) instead of refusing.
                if (job.PurgedThroughSequence == 0)
                {
                    throw ArcpException.Of(ErrorCodes.NotFound, $"Message '{afterMessageId}' is not in the event log.", new JsonObject { ["after_message_id"] = afterMessageId });
                }
            }
            else if (after.JobId != jobId)
            {
                throw ArcpException.Of(ErrorCodes.InvalidArgument, $"Message '{afterMessageId}' is not part of job '{jobId}'s event stream.", new JsonObject { ["after_message_id"] = afterMessageId });
            }
            else
            {
                afterSequence = after.Sequence;
            }
        }

        CheckpointRecord? anchor;
        if (checkpointId is not null)
        {
            anchor = await Store.FindCheckpointAsync(jobId, checkpointId, cancellationToken).ConfigureAwait(false)
                ?? throw ArcpException.Of(ErrorCodes.NotFound, $"Checkpoint '{checkpointId}' does not exist for job '{jobId}'.", new JsonObject { ["checkpoint_id"] = checkpointId });
        }
        else
        {
            anchor = await Store.FindLatestCheckpointAsync(jobId, cancellationToken).ConfigureAwait(false);
        }

        if (afterCheckpoint && afterMessageId is null && anchor is not null
            && await Store.FindEventAsync(anchor.MessageId, cancellationToken).ConfigureAwait(false) is { } anchorEvent && anchorEvent.JobId == jobId)
        {
            afterSequence = anchorEvent.Sequence;
        }

        var replay = await Store.ReadJobStreamAsync(jobId, afterSequence, cancellationToken).ConfigureAwait(false);
        return new ResumePlan(job, afterSequence, anchor, replay);
    }

    /// <summary>
    /// Inbound <c>cancel</c> requests recorded in the stream of a job <paramref name="sessionId"/> holds, after
    /// <paramref name="afterSequence"/>, for the owner's session to relay (§10.4); read in the transaction that records
    /// the owner's event, so the scan costs no transaction (on PostgreSQL, no connection) of its own.
    /// </summary>
    /// <returns>The requests and the sequence scanned up to.</returns>
    public static async Task<(IReadOnlyList<StoredEvent> Requests, long ScannedThrough)> PendingCancelsAsync(IStoreTransaction tx, string sessionId, string jobId, long afterSequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tx);
        var (requests, scannedThrough) = await tx.ReadJobCancelsAsync(jobId, afterSequence, cancellationToken).ConfigureAwait(false);
        if (requests.Count == 0 || (await tx.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false))?.Lease?.SessionId != sessionId)
        {
            return ([], scannedThrough);
        }

        return (requests, scannedThrough);
    }
}

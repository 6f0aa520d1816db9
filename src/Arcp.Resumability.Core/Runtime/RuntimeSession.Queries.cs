using Arcp.Resumability.Jobs;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Runtime;

/// <summary>Read-only messages: step lookup and the job, checkpoint and event queries, each answered from the job layer.</summary>
internal sealed partial class RuntimeSession
{
    private async Task LookupStepAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var jobId = RequireJobId(envelope);
        var lookup = envelope.PayloadAs<StepLookupPayload>();
        if (string.IsNullOrEmpty(lookup.IdempotencyKey))
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "Step lookup needs an 'idempotency_key'.");
        }

        var recorded = await jobs.FindStepAsync(principal, jobId, lookup.IdempotencyKey, cancellationToken).ConfigureAwait(false);
        var outcome = new StepOutcomePayload(recorded is not null, recorded);
        await RespondToQueryAsync(envelope, frame, Reply(envelope, MessageTypes.StepOutcome, outcome, jobId), cancellationToken).ConfigureAwait(false);
    }

    private async Task QueryJobsAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var query = envelope.PayloadAs<JobQueryPayload>();
        var summaries = await jobs.QueryJobsAsync(principal, query.JobId, query.States, cancellationToken).ConfigureAwait(false);
        await RespondToQueryAsync(envelope, frame, Reply(envelope, MessageTypes.JobList, new JobListPayload(summaries)), cancellationToken).ConfigureAwait(false);
    }

    private async Task QueryCheckpointsAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var jobId = RequireJobId(envelope);
        var query = envelope.PayloadAs<CheckpointQueryPayload>();
        if (query.Last is < 1)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "'last' must be at least 1.");
        }

        if (query.Limit is < 1)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "'limit' must be at least 1.");
        }

        CheckpointPage answer;
        if (query.CheckpointId is null && query.Last is null && (query.Limit is not null || query.AfterCheckpointId is not null))
        {
            answer = await jobs.ReadCheckpointPageAsync(principal, jobId, query.AfterCheckpointId, query.Limit, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var selected = query.Last is { } last && query.CheckpointId is null
                ? await jobs.ReadLastCheckpointsAsync(principal, jobId, last, cancellationToken).ConfigureAwait(false)
                : await jobs.ReadCheckpointsAsync(principal, jobId, query.CheckpointId, cancellationToken).ConfigureAwait(false);
            answer = new CheckpointPage(selected, null);
        }

        // Written from the stored rows into the reply's frame (CheckpointListAnswer), before the query is logged: a
        // damaged output is nacked by the usual path.
        var reply = CheckpointListAnswer.Frame(ReplyHeader(envelope, MessageTypes.CheckpointList, jobId), answer.Checkpoints, answer.Next);
        await RespondToQueryAsync(envelope, frame, reply, cancellationToken).ConfigureAwait(false);
    }

    private async Task QueryEventsAsync(Envelope envelope, string frame, CancellationToken cancellationToken)
    {
        var jobId = RequireJobId(envelope);
        var query = envelope.PayloadAs<EventQueryPayload>();
        if (query.Limit is < 1)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "'limit' must be at least 1.");
        }

        var page = await jobs.QueryEventPageAsync(principal, jobId, query.AfterMessageId, query.Limit, cancellationToken).ConfigureAwait(false);
        await RespondToQueryAsync(envelope, frame, Reply(envelope, MessageTypes.EventList, page, jobId), cancellationToken).ConfigureAwait(false);
    }

    private static string RequireJobId(Envelope envelope) =>
        envelope.JobId ?? throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{envelope.Type}' needs a 'job_id'.");
}

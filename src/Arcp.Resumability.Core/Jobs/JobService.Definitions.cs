using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.Jobs;

/// <summary>
/// Where a job's definition came from. There is no wire message for this: only an in-process caller (the
/// embedded runtime's cmdlets) records and reads it, and only for its own principal's jobs.
/// </summary>
public sealed partial class JobService
{
    private static readonly string[] DefinitionKinds = [JobDefinitionKinds.BuiltIn, JobDefinitionKinds.File, JobDefinitionKinds.SearchPath, JobDefinitionKinds.Inline];

    /// <summary>
    /// Records <paramref name="definition"/> for its job, which must exist and belong to its principal. A job keeps
    /// the first definition recorded for it (an idempotent start again does not replace it).
    /// </summary>
    /// <returns>True when recorded now, false when the job already had one.</returns>
    public async Task<bool> RecordDefinitionAsync(JobDefinitionRecord definition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!DefinitionKinds.Contains(definition.Kind, StringComparer.Ordinal) || string.IsNullOrWhiteSpace(definition.Reference) || !definition.ContentHash.StartsWith("sha256:", StringComparison.Ordinal))
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, $"A job definition needs a kind ({string.Join(", ", DefinitionKinds)}), a reference and a sha256: content hash.");
        }

        if (definition.Kind == JobDefinitionKinds.Inline != definition.Script is not null)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "Only an inline definition carries script text, and it must.");
        }

        var transaction = await Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            EnsureVisible(await transaction.GetJobAsync(definition.JobId, cancellationToken).ConfigureAwait(false), definition.JobId, definition.Principal);
            var inserted = await transaction.TryInsertJobDefinitionAsync(definition, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return inserted;
        }
    }

    /// <summary>
    /// The recorded definition of <paramref name="principal"/>'s job, or null when none was recorded or it was
    /// recorded for another principal. NOT_FOUND when the job is missing or not <paramref name="principal"/>'s.
    /// </summary>
    /// <remarks>
    /// Plain reads, outside a transaction: a job's principal never changes and its definition is written once, so
    /// the job's row lock (and on SQLite the store's write lock) that a transaction takes bought nothing, and a
    /// worker reads this for every job it claims. The definition is read first: the store reads one only when its
    /// principal is its job's, so one of <paramref name="principal"/>'s shows that the job exists and is theirs, and the
    /// job's row is read only to tell a job without a definition from a job that is not visible.
    /// </remarks>
    public async Task<JobDefinitionRecord?> GetRecordedDefinitionAsync(string principal, string jobId, CancellationToken cancellationToken)
    {
        var definition = await Store.GetJobDefinitionAsync(jobId, cancellationToken).ConfigureAwait(false);
        if (definition is not null && definition.Principal == principal)
        {
            return definition;
        }

        EnsureVisible(await Store.GetJobAsync(jobId, cancellationToken).ConfigureAwait(false), jobId, principal);
        return null;
    }

    /// <summary>
    /// <see cref="GetRecordedDefinitionAsync(string, string, CancellationToken)"/> of a job its caller has read already
    /// (a worker's claim returns the job): a job's principal never changes, so the row read says whose it is, and the
    /// definition is the one read left.
    /// </summary>
    public async Task<JobDefinitionRecord?> GetRecordedDefinitionAsync(string principal, JobRecord job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        EnsureVisible(job, job.JobId, principal);
        var definition = await Store.GetJobDefinitionAsync(job.JobId, cancellationToken).ConfigureAwait(false);
        return definition is not null && definition.Principal == principal ? definition : null;
    }
}

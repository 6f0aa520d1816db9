using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;
using Cronos;

namespace Arcp.Resumability.Jobs;

/// <summary>What happens to fire times that passed while no worker was up to notice them.</summary>
public enum ScheduleMissedPolicy
{
    /// <summary>They are dropped; the schedule goes on from the next fire time.</summary>
    Skip,

    /// <summary>They collapse into one run, stamped with the earliest of them.</summary>
    RunOnce,
}

/// <summary>A schedule to register: a cron expression (5 fields, or 6 with seconds) read in <see cref="TimeZone"/>.</summary>
public sealed record ScheduleDefinition(string Name, string Cron, string TimeZone, string Workflow, string Inputs, string Queue, ScheduleMissedPolicy Missed)
{
    /// <summary>
    /// Inline steps each run executes (<see cref="Workflow"/> is then <c>inline</c>). Only an in-process caller (the
    /// local cmdlet) registers schedules, so this script text is the local user's own; no wire message writes it.
    /// </summary>
    public ScheduleSteps? Steps { get; init; }
}

/// <summary>One fire time turned into a queued job (or found as the job an earlier firing already queued).</summary>
public sealed record ScheduledRun(string Schedule, DateTimeOffset FireTime, JobRecord Job, bool Existing);

/// <summary>
/// Cron schedules in the store. Any number of workers may call <see cref="FireDueAsync"/> at once: due schedules are
/// locked while one of them decides, and each run's job-level idempotency key is the schedule's name and fire time, so
/// a fire time starts one job across the fleet whoever notices it.
/// </summary>
public sealed class JobSchedules(QueuedJobs queued)
{
    private const int DueBatch = 50;

    public QueuedJobs Queued { get; } = queued ?? throw new ArgumentNullException(nameof(queued));

    /// <summary>
    /// How late a worker may notice a fire time and still run it as on time. Fire times older than this were missed
    /// (no worker was up) and follow the schedule's <see cref="ScheduleMissedPolicy"/>.
    /// </summary>
    public TimeSpan OnTimeWindow { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The idempotency key of a schedule's run at <paramref name="fireTime"/>.</summary>
    public static string RunKey(string schedule, DateTimeOffset fireTime) => $"schedule:{schedule}@{ArcpJson.FormatTimestamp(fireTime)}";

    /// <summary>Parses a cron expression: 5 fields (minute precision) or 6 (seconds first); INVALID_ARGUMENT otherwise.</summary>
    public static CronExpression ParseCron(string cron)
    {
        ArgumentNullException.ThrowIfNull(cron);
        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        try
        {
            return CronExpression.Parse(cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException ex)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{cron}' is not a cron expression (5 fields, or 6 with seconds first): {ex.Message}", new JsonObject { ["cron"] = cron });
        }
    }

    /// <summary>Finds a time zone by IANA or Windows id; INVALID_ARGUMENT when this machine does not know it.</summary>
    public static TimeZoneInfo FindTimeZone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, $"'{id}' is not a time zone this machine knows (use an IANA id such as 'Europe/Paris', or 'UTC').", new JsonObject { ["time_zone"] = id });
        }
    }

    public async Task<ScheduleRecord> RegisterAsync(string principal, ScheduleDefinition definition, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        QueuedJobs.EnsureName(definition.Name, "schedule");
        QueuedJobs.EnsureName(definition.Queue, "queue");
        EnsureSteps(definition);
        var cron = ParseCron(definition.Cron);
        var zone = FindTimeZone(definition.TimeZone);
        var now = Queued.Jobs.Now;
        var next = cron.GetNextOccurrence(now, zone)
            ?? throw ArcpException.Of(ErrorCodes.InvalidArgument, $"The cron expression '{definition.Cron}' never fires.", new JsonObject { ["cron"] = definition.Cron });
        var schedule = new ScheduleRecord
        {
            Principal = principal,
            Name = definition.Name,
            Cron = definition.Cron,
            TimeZone = definition.TimeZone,
            Workflow = definition.Workflow,
            Inputs = definition.Inputs,
            Queue = definition.Queue,
            Missed = definition.Missed.ToString(),
            NextFireAt = next,
            CreatedAt = now,
            Steps = definition.Steps,
        };
        var transaction = await Queued.Jobs.Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            if (!await transaction.TryInsertScheduleAsync(schedule, cancellationToken).ConfigureAwait(false))
            {
                throw ArcpException.Of(ErrorCodes.AlreadyExists, $"A schedule named '{definition.Name}' already exists; unregister it first to change it.", new JsonObject { ["schedule"] = definition.Name });
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        return schedule;
    }

    public async Task<IReadOnlyList<ScheduleRecord>> ListAsync(string principal, CancellationToken cancellationToken)
    {
        var transaction = await Queued.Jobs.Store.BeginAsync(CommitDurability.ProcessSafe, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            return await transaction.ListSchedulesAsync(principal, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Removes a schedule (jobs it already queued stay); NOT_FOUND when the principal has none by that name.</summary>
    public async Task UnregisterAsync(string principal, string name, CancellationToken cancellationToken)
    {
        var transaction = await Queued.Jobs.Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            if (!await transaction.DeleteScheduleAsync(principal, name, cancellationToken).ConfigureAwait(false))
            {
                throw ArcpException.Of(ErrorCodes.NotFound, $"There is no schedule named '{name}'.", new JsonObject { ["schedule"] = name });
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Queues a job for every due fire time of every principal's schedules and moves each schedule to its next fire time.
    /// A fire time within <see cref="OnTimeWindow"/> of now runs; earlier ones were missed and follow the schedule's policy.
    /// </summary>
    public async Task<IReadOnlyList<ScheduledRun>> FireDueAsync(Func<string> newJobId, Func<string> newMessageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(newJobId);
        ArgumentNullException.ThrowIfNull(newMessageId);
        var runs = new List<ScheduledRun>();
        var transaction = await Queued.Jobs.Store.BeginAsync(CommitDurability.Durable, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var now = Queued.Jobs.Now;
            var due = await transaction.ListDueSchedulesAsync(now, DueBatch, cancellationToken).ConfigureAwait(false);
            if (due.Count == 0)
            {
                return runs;
            }

            foreach (var schedule in due)
            {
                var cron = ParseCron(schedule.Cron);
                var zone = FindTimeZone(schedule.TimeZone);
                var windowStart = now - OnTimeWindow;
                var fireTimes = new List<DateTimeOffset>();
                if (schedule.NextFireAt < windowStart && schedule.Missed == nameof(ScheduleMissedPolicy.RunOnce))
                {
                    fireTimes.Add(schedule.NextFireAt);
                }

                var onTimeFrom = schedule.NextFireAt > windowStart ? schedule.NextFireAt : windowStart;
                if (cron.GetNextOccurrence(onTimeFrom, zone, inclusive: true) is { } onTime && onTime <= now)
                {
                    fireTimes.Add(onTime);
                }

                foreach (var fireTime in fireTimes)
                {
                    var start = new JobStart(newJobId(), schedule.Principal, schedule.Workflow, $"{schedule.Name} {fireTime.ToString("u", CultureInfo.InvariantCulture)}", schedule.Inputs, RunKey(schedule.Name, fireTime), newMessageId());
                    var (job, existing) = await Queued.EnqueueAsync(transaction, start, schedule.Queue, 0, cancellationToken).ConfigureAwait(false);
                    if (schedule.Steps is { } steps)
                    {
                        // In the same transaction as the job, so no worker ever sees the run without its steps; a run
                        // found again (existing) keeps the definition its first firing recorded.
                        await transaction.TryInsertJobDefinitionAsync(new JobDefinitionRecord(job.JobId, schedule.Principal, JobDefinitionKinds.Inline, JobDefinitionKinds.Inline, steps.ContentHash, steps.Version, steps.Script, now), cancellationToken).ConfigureAwait(false);
                    }

                    runs.Add(new ScheduledRun(schedule.Name, fireTime, job, existing));
                }

                // A cron that stops firing (a fixed date in the past) keeps its row but is never due again.
                var next = cron.GetNextOccurrence(now, zone) ?? DateTimeOffset.MaxValue;
                await transaction.UpdateScheduleFireAsync(schedule.Principal, schedule.Name, next, fireTimes.Count > 0 ? fireTimes[^1] : null, cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        return runs;
    }

    /// <summary>INVALID_ARGUMENT unless a schedule names a workflow, or runs inline steps whose hash is their text's.</summary>
    private static void EnsureSteps(ScheduleDefinition definition)
    {
        var inline = string.Equals(definition.Workflow, JobDefinitionKinds.Inline, StringComparison.Ordinal);
        if (definition.Steps is not { } steps)
        {
            if (inline)
            {
                throw ArcpException.Of(ErrorCodes.InvalidArgument, "A schedule of the 'inline' workflow needs its steps; register it with -Step.", new JsonObject { ["schedule"] = definition.Name });
            }

            return;
        }

        var hash = "sha256:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(steps.Script))).ToLowerInvariant();
        if (!inline || string.IsNullOrWhiteSpace(steps.Script) || steps.ContentHash != hash)
        {
            throw ArcpException.Of(ErrorCodes.InvalidArgument, "A schedule's inline steps need the workflow 'inline', script text and its sha256: content hash.", new JsonObject { ["schedule"] = definition.Name });
        }
    }
}

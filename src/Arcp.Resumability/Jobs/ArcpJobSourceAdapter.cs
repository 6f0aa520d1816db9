using System.Collections.Concurrent;
using System.Management.Automation;

namespace Arcp.Resumability.PowerShell.Jobs;

/// <summary>
/// Makes ArcpBackgroundJobs visible to the built-in job cmdlets (Get-Job, Wait-Job, Receive-Job, Stop-Job,
/// Suspend-Job, Resume-Job, Remove-Job): the JobManager creates this adapter when the first job is registered.
/// </summary>
public sealed class ArcpJobSourceAdapter : JobSourceAdapter
{
    private readonly ConcurrentDictionary<Guid, Job2> jobs = new();

    public ArcpJobSourceAdapter()
    {
        Name = nameof(ArcpJobSourceAdapter);
    }

    /// <summary>Registers a job the -AsJob cmdlets created (passed as the single parameter <c>Job</c>).</summary>
    public override Job2 NewJob(JobInvocationInfo specification)
    {
        ArgumentNullException.ThrowIfNull(specification);
        var job = specification.Parameters[0][0].Value as ArcpBackgroundJob ?? throw new ArgumentException("The specification carries no ArcpBackgroundJob.", nameof(specification));
        jobs.TryAdd(job.InstanceId, job);
        return job;
    }

    public override IList<Job2> GetJobs() => jobs.Values.ToList();

    public override IList<Job2> GetJobsByName(string name, bool recurse) =>
        jobs.Values.Where(j => WildcardPattern.Get(name, WildcardOptions.IgnoreCase).IsMatch(j.Name)).ToList();

    public override IList<Job2> GetJobsByCommand(string command, bool recurse) =>
        jobs.Values.Where(j => WildcardPattern.Get(command, WildcardOptions.IgnoreCase).IsMatch(j.Command)).ToList();

    public override Job2? GetJobByInstanceId(Guid instanceId, bool recurse) => jobs.TryGetValue(instanceId, out var job) ? job : null;

    public override Job2? GetJobBySessionId(int id, bool recurse) => jobs.Values.FirstOrDefault(j => j.Id == id);

    public override IList<Job2> GetJobsByState(JobState state, bool recurse) => jobs.Values.Where(j => j.JobStateInfo.State == state).ToList();

    public override IList<Job2> GetJobsByFilter(Dictionary<string, object> filter, bool recurse) =>
        throw new PSNotSupportedException("ARCP background jobs cannot be filtered; use Get-Job -Name or Get-ArcpJob.");

    public override void RemoveJob(Job2 job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (jobs.TryRemove(job.InstanceId, out var removed))
        {
            removed.StopJob();
            removed.Dispose();
        }
    }

    /// <summary>Creates, registers and starts a background job for the calling cmdlet.</summary>
    internal static ArcpBackgroundJob Start(PSCmdlet cmdlet, string command, string name, BackgroundRunSpec spec)
    {
        var job = new ArcpBackgroundJob(command, name, spec);
        var definition = new JobDefinition(typeof(ArcpJobSourceAdapter), command, name);
        var registered = cmdlet.JobManager.NewJob(new JobInvocationInfo(definition, new Dictionary<string, object> { ["Job"] = job }));
        registered.StartJob();
        return job;
    }
}

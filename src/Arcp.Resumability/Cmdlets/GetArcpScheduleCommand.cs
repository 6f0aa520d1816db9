using System.Management.Automation;
using Arcp.Resumability.Jobs;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Lists the cron schedules in the store, with their next and last fire times.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "ArcpSchedule")]
[OutputType(typeof(ArcpSchedule))]
public sealed class GetArcpScheduleCommand : ArcpCmdlet
{
    /// <summary>Only schedules whose name matches (wildcards allowed).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string? Name { get; set; }

    internal override StoreOpenMode StoreOpenMode => StoreOpenMode.MustExist;

    protected override void ProcessRecord()
    {
        var store = ResolvedStore;
        try
        {
            var pattern = Name is null ? null : new WildcardPattern(Name, WildcardOptions.IgnoreCase);
            foreach (var schedule in RunOnStore(store, (jobs, ct) => new JobSchedules(new QueuedJobs(jobs)).ListAsync(RuntimeOptions.LocalPrincipal, ct)))
            {
                if (pattern is null || pattern.IsMatch(schedule.Name))
                {
                    WriteObject(new ArcpSchedule(schedule, store));
                }
            }
        }
        catch (Exception ex) when (IsReportable(ex))
        {
            WriteArcpError(ex, Name);
        }
    }
}

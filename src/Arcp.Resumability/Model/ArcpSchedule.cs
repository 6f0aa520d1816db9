using Arcp.Resumability.PowerShell.Serialization;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Store;

namespace Arcp.Resumability.PowerShell;

/// <summary>A cron schedule as Get-ArcpSchedule shows it; pipes into Unregister-ArcpSchedule.</summary>
public sealed class ArcpSchedule
{
    internal ArcpSchedule(ScheduleRecord schedule, string store)
    {
        Name = schedule.Name;
        Cron = schedule.Cron;
        TimeZone = schedule.TimeZone;
        Workflow = schedule.Workflow;
        Queue = schedule.Queue;
        Missed = schedule.Missed;
        NextFireAt = schedule.NextFireAt;
        LastFireAt = schedule.LastFireAt;
        CreatedAt = schedule.CreatedAt;
        Input = PowerShellJson.FromJsonNode(ArcpJson.ParseNode(schedule.Inputs));
        Store = store;
    }

    public string Name { get; }

    /// <summary>Five fields (minute precision) or six (seconds first).</summary>
    public string Cron { get; }

    /// <summary>The time zone the cron expression is read in.</summary>
    public string TimeZone { get; }

    public string Workflow { get; }

    /// <summary>The queue each run is recorded on.</summary>
    public string Queue { get; }

    /// <summary>What happens to fire times missed while no worker was up: Skip or RunOnce.</summary>
    public string Missed { get; }

    public DateTimeOffset NextFireAt { get; }

    public DateTimeOffset? LastFireAt { get; }

    public DateTimeOffset CreatedAt { get; }

    /// <summary>The input every run starts with.</summary>
    public object? Input { get; }

    /// <summary>The store the schedule lives in.</summary>
    public string Store { get; }

    public override string ToString() => $"{Name} ({Cron} {TimeZone})";
}

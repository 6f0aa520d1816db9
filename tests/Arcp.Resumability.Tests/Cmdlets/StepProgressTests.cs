using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Arcp.Resumability.PowerShell.Commands;
using Arcp.Resumability.Tests.Core;
using Pwsh = System.Management.Automation.PowerShell;

namespace Arcp.Resumability.Tests.Cmdlets;

/// <summary>$ArcpStep.ReportProgress shows a step bar nested under the job's bar.</summary>
public sealed class StepProgressTests : IDisposable
{
    private readonly TestStore store = new();

    [Fact]
    public async Task A_step_s_progress_is_a_child_bar_of_the_job_bar()
    {
        var iss = InitialSessionState.CreateDefault();
        iss.Commands.Add(new SessionStateCmdletEntry("Start-ArcpJob", typeof(StartArcpJobCommand), null));
        using var ps = Pwsh.Create(iss);
        ps.Runspace.SessionStateProxy.SetVariable("store", store.Path);
        ps.AddScript("""
            Start-ArcpJob -Store $store -Name bars -Step ([ordered]@{
                first  = { 1 }
                second = { $ArcpStep.ReportProgress(40, 'two of five'); 2 }
            }) | Out-Null
            """);

        await ps.InvokeAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(ps.Streams.Error);
        var records = ps.Streams.Progress.ToList();
        var jobBar = Assert.Single(records, r => r.ParentActivityId < 0 && r.StatusDescription.Contains("second", StringComparison.Ordinal) && r.RecordType == ProgressRecordType.Processing && r.PercentComplete == 50);
        var stepBar = Assert.Single(records, r => r.ParentActivityId == jobBar.ActivityId && r.RecordType == ProgressRecordType.Processing);
        Assert.Equal(40, stepBar.PercentComplete);
        Assert.Equal("two of five", stepBar.StatusDescription);
        Assert.Contains(records, r => r.ActivityId == stepBar.ActivityId && r.RecordType == ProgressRecordType.Completed);
    }

    public void Dispose() => store.Dispose();
}

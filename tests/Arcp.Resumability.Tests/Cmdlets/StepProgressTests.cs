using System.Management.Automation;
using System.Management.Automation.Runspaces;
using Arcp.Resumability.PowerShell.Commands;
using Arcp.Resumability.Tests.Core;
using Pwsh = System.Management.Automation.PowerShell;

namespace Arcp.Resumability.Tests.Cmdlets;

/// <summary>$ArcpStep.ReportProgress shows a step bar nested under the job's bar, which is titled with the job's name.</summary>
public sealed class StepProgressTests : IDisposable
{
    private readonly TestStore store = new();

    [Fact]
    public async Task A_step_s_progress_is_a_child_bar_of_the_job_bar()
    {
        using var ps = Create();
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

    [Fact]
    public async Task A_resumed_job_s_bar_is_titled_with_its_name_not_its_id()
    {
        using var stepStarted = new ManualResetEventSlim();
        using (var starting = Create())
        {
            starting.Runspace.SessionStateProxy.SetVariable("stepStarted", stepStarted);
            starting.AddScript("""
                Start-ArcpJob -Store $store -Name nightly-report -Step ([ordered]@{
                    first  = { 1 }
                    second = { $stepStarted.Set(); Start-Sleep -Seconds 60; 2 }
                }) | Out-Null
                """);
            var running = starting.InvokeAsync();
            Assert.True(stepStarted.Wait(TimeSpan.FromSeconds(60)), "the second step never started");
            await starting.StopAsync(null, null).WaitAsync(TimeSpan.FromSeconds(60));
            await Assert.ThrowsAsync<PipelineStoppedException>(() => running.WaitAsync(TimeSpan.FromSeconds(60)));
        }

        using var resuming = Create();
        resuming.AddScript("""
            Get-ArcpJob -Store $store -Name nightly-report | Resume-ArcpJob -Step ([ordered]@{ first = { 1 }; second = { 2 } }) -Force | Out-Null
            (Get-ArcpJob -Store $store -Name nightly-report).JobId
            """);
        var output = await resuming.InvokeAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(resuming.Streams.Error);
        var jobId = (string)output.Single().BaseObject;
        var jobBars = resuming.Streams.Progress.Where(r => r.ParentActivityId < 0).ToList();
        Assert.NotEmpty(jobBars);
        Assert.All(jobBars, r => Assert.Equal("ARCP job nightly-report", r.Activity));
        Assert.DoesNotContain(resuming.Streams.Progress, r => r.Activity.Contains(jobId, StringComparison.Ordinal));
    }

    private Pwsh Create()
    {
        var iss = InitialSessionState.CreateDefault();
        iss.Commands.Add(new SessionStateCmdletEntry("Start-ArcpJob", typeof(StartArcpJobCommand), null));
        iss.Commands.Add(new SessionStateCmdletEntry("Get-ArcpJob", typeof(GetArcpJobCommand), null));
        iss.Commands.Add(new SessionStateCmdletEntry("Resume-ArcpJob", typeof(ResumeArcpJobCommand), null));
        var ps = Pwsh.Create(iss);
        ps.Runspace.SessionStateProxy.SetVariable("store", store.Path);
        return ps;
    }

    public void Dispose() => store.Dispose();
}

using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.PowerShell;
using Arcp.Resumability.PowerShell.Commands;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Tests.Core;
using Pwsh = System.Management.Automation.PowerShell;

namespace Arcp.Resumability.Tests.Cmdlets;

/// <summary>
/// Outputs already in a store, written the way an earlier version (untagged JSON) or another peer wrote them,
/// read by the cmdlets: the next step and Get-ArcpCheckpoint see what they saw before the type tags existed.
/// </summary>
public sealed class StoredEncodingTests : IDisposable
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(60);

    private const string StepsScript = """
        $global:seen = $null
        $steps = [ordered]@{
            plan = { throw 'plan is recorded and must not run again' }
            gather = { $global:seen = $_; 'gathered' }
            write = { "$_ and written" }
        }

        """;

    private static readonly string[] StepNames = ["plan", "gather", "write"];

    private readonly TestStore store = new();

    [Fact]
    public async Task An_output_stored_untagged_reaches_the_next_step_and_Get_ArcpCheckpoint_as_before()
    {
        var jobId = await InterruptedAfterPlanAsync("""{"Name":"x","When":"2024-01-01T00:00:00Z","Id":"6f1c2b7e-1d2a-4c53-9a0e-0a4b5c6d7e8f","Count":5,"Ratio":0.5,"Tags":["a"],"Inner":{"Deep":true}}""");

        var (output, errors, _) = await RunAsync(StepsScript + $"""
            $job = Resume-ArcpJob -JobId '{jobId}' -Step $steps -Store $store
            $job.State
            $job.Result
            $global:seen -is [pscustomobject]
            $global:seen.When.GetType().FullName + ' ' + $global:seen.When.Kind
            $global:seen.Id.GetType().FullName
            $global:seen.Count.GetType().FullName
            $global:seen.Ratio.GetType().FullName
            $global:seen.Tags.GetType().FullName
            $global:seen.Inner -is [pscustomobject]
            $recorded = (Get-ArcpCheckpoint -JobId '{jobId}' -Store $store)[0].Output
            $recorded -is [pscustomobject]
            ($recorded.PSObject.Properties.Name -join ',')
            """);

        Assert.Empty(errors);
        Assert.Equal(
            ["Completed", "gathered and written", "True", "System.DateTime Utc", "System.String", "System.Int32", "System.Double", "System.Object[]", "True", "True", "Name,When,Id,Count,Ratio,Tags,Inner"],
            output.Select(o => o.ToString()));
    }

    [Fact]
    public async Task A_step_receiving_an_enum_whose_type_is_not_loaded_gets_its_name_and_the_caller_a_warning()
    {
        var jobId = await InterruptedAfterPlanAsync("""{"$arcp":"ordered","Color":{"$arcp":"enum","type":"Contoso.Missing.Color","v":"Red"},"Day":{"$arcp":"enum","type":"System.DayOfWeek","v":"Monday"}}""");

        var (output, errors, warnings) = await RunAsync(StepsScript + $"""
            $job = Resume-ArcpJob -JobId '{jobId}' -Step $steps -Store $store
            $job.State
            $global:seen.GetType().FullName
            $global:seen.Color.GetType().FullName + ' ' + $global:seen.Color
            $global:seen.Day.GetType().FullName
            """);

        Assert.Empty(errors);
        Assert.Equal(["Completed", "System.Collections.Specialized.OrderedDictionary", "System.String Red", "System.DayOfWeek"], output.Select(o => o.ToString()));
        var warning = Assert.Single(warnings);
        Assert.StartsWith("The input of step 'gather' at $.Color holds the value 'Red' of the enum [Contoso.Missing.Color], which is not loaded", warning.Message, StringComparison.Ordinal);
    }

    public void Dispose() => store.Dispose();

    /// <summary>An "inline" job whose first step recorded <paramref name="planOutput"/> verbatim, then whose process went away.</summary>
    private async Task<string> InterruptedAfterPlanAsync(string planOutput)
    {
        var workflow = new WorkflowDefinition(
            "inline",
            StepNames.Select(s => new StepDefinition(s, (_, _) => ValueTask.FromResult(JsonNode.Parse(planOutput)))).ToList());
        using var observer = new StopAfter("plan");
        await using var arcp = await EmbeddedArcp.OpenAsync(store.Path, null, CancellationToken.None);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => new StepRunner(arcp.Client).StartAsync(workflow, null, null, null, observer, observer.Token));
        return observer.JobId!;
    }

    private async Task<(Collection<PSObject> Output, IReadOnlyList<ErrorRecord> Errors, IReadOnlyList<WarningRecord> Warnings)> RunAsync(string script)
    {
        var iss = InitialSessionState.CreateDefault();
        iss.Commands.Add(new SessionStateCmdletEntry("Resume-ArcpJob", typeof(ResumeArcpJobCommand), null));
        iss.Commands.Add(new SessionStateCmdletEntry("Get-ArcpCheckpoint", typeof(GetArcpCheckpointCommand), null));
        using var ps = Pwsh.Create(iss);
        ps.Runspace.SessionStateProxy.SetVariable("store", store.Path);
        ps.AddScript(script);
        var output = await ps.InvokeAsync().WaitAsync(ScriptTimeout);
        return (new Collection<PSObject>(output.ToList()), ps.Streams.Error.ToList(), ps.Streams.Warning.ToList());
    }
}

using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text.Json.Nodes;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.PowerShell.Commands;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Tests.Core;
using Pwsh = System.Management.Automation.PowerShell;

namespace Arcp.Resumability.Tests.Cmdlets;

/// <summary>
/// A checkpoint's Output is rebuilt while Get-ArcpCheckpoint lists it, so stored JSON it cannot rebuild is an error of
/// the listing, naming the step and the checkpoint. It must not move into the property's getter: PowerShell swallows
/// an exception thrown there, and the damaged output would read as a silent $null.
/// </summary>
public sealed class CheckpointOutputTests : IDisposable
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(60);

    private readonly TestStore store = new();

    [Theory]
    [InlineData("""{"$arcp":"nosuchtag","v":1}""", "is tagged 'nosuchtag', a type this version of the module does not know")]
    [InlineData("""{"Name":1,"name":2}""", "is a second property that reads 'name'")]
    [InlineData("""{"$arcp":"long","v":"five"}""", "is tagged 'long' but its value \"five\" is not a valid long")]
    public async Task An_output_that_cannot_be_rebuilt_is_an_error_of_the_listing_naming_step_and_checkpoint(string output, string problem)
    {
        var jobId = await InterruptedAfterPlanAsync(output);

        var (lines, _) = await RunAsync($$"""
            try { $listed = @(Get-ArcpCheckpoint -JobId '{{jobId}}' -Store $store); "listed $($listed.Count), output null: $($null -eq $listed[0].Output)" }
            catch { $_.Exception.Message }
            """);

        var line = Assert.Single(lines).ToString();
        Assert.Matches(@"^The output of step 'plan' \(checkpoint chk_\w+\) at \$(\.\w+)? ", line);
        Assert.Contains(problem, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_property_getter_that_throws_reads_as_null_in_PowerShell_which_is_why_Output_is_not_rebuilt_there()
    {
        var (lines, errors) = await RunAsync("""
            Add-Type -TypeDefinition 'public sealed class ArcpTestThrowingGetter { public object Value { get { throw new System.InvalidOperationException("damaged"); } } }'
            $ErrorActionPreference = 'Stop'
            $value = [ArcpTestThrowingGetter]::new().Value
            "null: $($null -eq $value)"
            """);

        Assert.Empty(errors);
        Assert.Equal(["null: True"], lines.Select(l => l.ToString()));
    }

    /// <summary>An "inline" job whose first step recorded <paramref name="planOutput"/> verbatim, then whose process went away.</summary>
    private async Task<string> InterruptedAfterPlanAsync(string planOutput)
    {
        string[] steps = ["plan", "gather"];
        var workflow = new WorkflowDefinition("inline", steps.Select(s => new StepDefinition(s, (_, _) => ValueTask.FromResult(JsonNode.Parse(planOutput)))).ToList());
        using var observer = new StopAfter("plan");
        await using var arcp = await EmbeddedArcp.OpenAsync(store.Path, null, CancellationToken.None);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => new StepRunner(arcp.Client).StartAsync(workflow, null, null, null, observer, observer.Token));
        return observer.JobId!;
    }

    private async Task<(IReadOnlyList<PSObject> Output, IReadOnlyList<ErrorRecord> Errors)> RunAsync(string script)
    {
        var iss = InitialSessionState.CreateDefault();
        iss.Commands.Add(new SessionStateCmdletEntry("Get-ArcpCheckpoint", typeof(GetArcpCheckpointCommand), null));
        using var ps = Pwsh.Create(iss);
        ps.Runspace.SessionStateProxy.SetVariable("store", store.Path);
        ps.AddScript(script);
        var output = await ps.InvokeAsync().WaitAsync(ScriptTimeout);
        return (output.ToList(), ps.Streams.Error.ToList());
    }

    public void Dispose() => store.Dispose();
}

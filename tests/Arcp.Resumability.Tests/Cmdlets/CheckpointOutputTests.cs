using System.Collections;
using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text.Json.Nodes;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.PowerShell;
using Arcp.Resumability.PowerShell.Commands;
using Arcp.Resumability.PowerShell.Serialization;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;
using Arcp.Resumability.Tests.Core;
using Pwsh = System.Management.Automation.PowerShell;

namespace Arcp.Resumability.Tests.Cmdlets;

/// <summary>
/// A checkpoint's Output is rebuilt from its stored JSON when first read, not when Get-ArcpCheckpoint lists it: the
/// value is the one an eager conversion gave, built once; stored JSON that cannot be rebuilt is an error naming the
/// step and the checkpoint on every read, and an unloaded enum's warning still comes from the listing.
/// </summary>
public sealed class CheckpointOutputTests : IDisposable
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(60);

    private const string TaggedOutput = """
        {"$arcp":"ordered","Name":"x","When":"2024-01-01T00:00:00Z","At":{"$arcp":"datetimeoffset","v":"2024-01-01T10:00:00.0000000+02:00"},"Count":{"$arcp":"long","v":5},"Tags":["a",{"Deep":true}]}
        """;

    private readonly TestStore store = new();

    [Fact]
    public void Output_is_the_value_an_eager_conversion_gives_built_once()
    {
        var checkpoint = new ArcpCheckpoint(Summary(TaggedOutput), store.Path, _ => Assert.Fail("No enum here, so no warning."));

        var first = checkpoint.Output;

        Assert.Same(first, checkpoint.Output);
        Assert.Equal(PowerShellJson.ToJson(PowerShellJson.FromJson(TaggedOutput)), PowerShellJson.ToJson(first));
        var ordered = Assert.IsAssignableFrom<IDictionary>(first);
        Assert.IsType<DateTimeOffset>(ordered["At"]);
        Assert.IsType<long>(ordered["Count"]);
    }

    [Fact]
    public void A_null_output_reads_as_null()
    {
        Assert.Null(new ArcpCheckpoint(Summary("null") with { Output = null }, store.Path).Output);
    }

    [Theory]
    [InlineData("""{"$arcp":"nosuchtag","v":1}""", "nosuchtag")]
    [InlineData("""{"Name":1,"name":2}""", "collide")]
    [InlineData("""{"a":{"$arcp":"enum","type":"NoSuchEnumType","v":"Dark"},"b":{"$arcp":"long","v":"five"}}""", "long")]
    public void Stored_json_that_cannot_be_rebuilt_is_an_error_naming_the_step_and_checkpoint_on_every_read(string output, string problem)
    {
        var checkpoint = new ArcpCheckpoint(Summary(output), store.Path, _ => { });

        var first = Assert.Throws<JsonConversionException>(() => checkpoint.Output);
        var second = Assert.Throws<JsonConversionException>(() => checkpoint.Output);

        Assert.Contains("The output of step 'plan' (checkpoint chk_1)", first.Message, StringComparison.Ordinal);
        Assert.Contains(problem, first.Message, StringComparison.Ordinal);
        Assert.Equal(first.Message, second.Message);
    }

    [Fact]
    public async Task Get_ArcpCheckpoint_lists_a_damaged_output_and_reading_it_is_an_error_naming_the_step()
    {
        var jobId = await InterruptedAfterPlanAsync("""{"$arcp":"nosuchtag","v":1}""");

        var (output, errors, _) = await RunAsync($$"""
            $checkpoints = @(Get-ArcpCheckpoint -JobId '{{jobId}}' -Store $store)
            $checkpoints.Count
            $checkpoints[0].Step
            foreach ($attempt in 1, 2) {
                try { $null = $checkpoints[0].Output; 'read' } catch { $_.Exception.InnerException.Message }
            }
            """);

        Assert.Empty(errors);
        Assert.Equal("1", output[0].ToString());
        Assert.Equal("plan", output[1].ToString());
        Assert.All(output.Skip(2), read => Assert.Matches(@"^The output of step 'plan' \(checkpoint chk_\w+\) at \$ is tagged 'nosuchtag'", read.ToString()));
        Assert.Equal(4, output.Count);
    }

    [Fact]
    public async Task An_unloaded_enum_is_warned_about_by_the_listing_even_when_Output_is_never_read()
    {
        var jobId = await InterruptedAfterPlanAsync("""{"Shade":{"$arcp":"enum","type":"ArcpTestUnloadedShade","v":"Dark"}}""");

        var (output, errors, warnings) = await RunAsync($"""
            $checkpoint = Get-ArcpCheckpoint -JobId '{jobId}' -Store $store | Select-Object -Last 1
            $checkpoint.Step
            """);

        Assert.Empty(errors);
        Assert.Equal(["plan"], output.Select(o => o.ToString()));
        var warning = Assert.Single(warnings);
        Assert.Contains("[ArcpTestUnloadedShade]", warning.Message, StringComparison.Ordinal);
    }

    private static CheckpointSummary Summary(string output) =>
        new("chk_1", "job_1", "plan", 0, "msg_1", "key_1", "2024-01-01T00:00:00Z") { Output = JsonNode.Parse(output) };

    /// <summary>An "inline" job whose first step recorded <paramref name="planOutput"/> verbatim, then whose process went away.</summary>
    private async Task<string> InterruptedAfterPlanAsync(string planOutput)
    {
        var workflow = new WorkflowDefinition(
            "inline",
            ["plan", "gather"].Select(s => new StepDefinition(s, (_, _) => ValueTask.FromResult(JsonNode.Parse(planOutput)))).ToList());
        using var observer = new StopAfter("plan");
        await using var arcp = await EmbeddedArcp.OpenAsync(store.Path, null, CancellationToken.None);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => new StepRunner(arcp.Client).StartAsync(workflow, null, null, null, observer, observer.Token));
        return observer.JobId!;
    }

    private async Task<(Collection<PSObject> Output, IReadOnlyList<ErrorRecord> Errors, IReadOnlyList<WarningRecord> Warnings)> RunAsync(string script)
    {
        var iss = InitialSessionState.CreateDefault();
        iss.Commands.Add(new SessionStateCmdletEntry("Get-ArcpCheckpoint", typeof(GetArcpCheckpointCommand), null));
        using var ps = Pwsh.Create(iss);
        ps.Runspace.SessionStateProxy.SetVariable("store", store.Path);
        ps.AddScript(script);
        var output = await ps.InvokeAsync().WaitAsync(ScriptTimeout);
        return (new Collection<PSObject>(output.ToList()), ps.Streams.Error.ToList(), ps.Streams.Warning.ToList());
    }

    public void Dispose() => store.Dispose();
}

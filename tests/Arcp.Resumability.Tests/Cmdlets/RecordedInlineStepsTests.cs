using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using System.Text.Json.Nodes;
using Arcp.Resumability.PowerShell.Scripting;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Tests.Cmdlets;

/// <summary>
/// Recorded inline steps (Start-ArcpJob -Step) read back for a resume: the same definition and version as the one
/// started, with each step's script parsed only when that step runs, so a resume of a long job does not parse the
/// script of every step it will never run again (issue 12).
/// </summary>
public sealed class RecordedInlineStepsTests
{
    [Fact]
    public void Recorded_steps_read_back_with_the_version_policies_and_script_text_they_were_started_with()
    {
        var steps = new OrderedDictionary(StringComparer.Ordinal)
        {
            ["fetch"] = ScriptBlock.Create(" @{ Items = 1..3 } "),
            ["publish"] = new Hashtable(StringComparer.OrdinalIgnoreCase)
            {
                ["Run"] = ScriptBlock.Create("param($totals) \"total=$($totals.Total)\""),
                ["MaxAttempts"] = 4,
                ["RetryDelay"] = "00:00:02",
                ["RetryOn"] = ScriptBlock.Create("param($err) $err.Code -ne 'INVALID_ARGUMENT'"),
            },
        };
        var started = WorkflowLoader.FromSteps(steps);

        var read = RecordedDefinitions.WorkflowFromScript(RecordedDefinitions.InlineScript(started));

        Assert.Equal(started.Version, read.Version);
        Assert.Equal(started.Steps.Select(s => (s.Name, s.Text)), read.Steps.Select(s => (s.Name, s.Text)));
        Assert.Equal(started.Steps.Select(s => s.Body.ToString()), read.Steps.Select(s => s.Body.ToString()));
        Assert.Equal(4, read.Policies["publish"].Policy.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(2), read.Policies["publish"].Policy.RetryDelay);
        Assert.Equal("param($err) $err.Code -ne 'INVALID_ARGUMENT'", read.Policies["publish"].RetryOn?.ToString());
        Assert.Same(ScriptStepPolicy.Default, read.Policies["fetch"]);
    }

    [Fact]
    public void Reading_a_recorded_definition_parses_no_step_script_and_a_step_is_parsed_when_it_runs()
    {
        // A script that does not parse stands for "not parsed yet": reading the definition must not touch it, only
        // asking for that step's body may, and then it is DATA_LOSS (its text matched the recorded hash, so the
        // record itself is damaged). Eager parsing of every step failed the whole definition here.
        var script = Record(("done", "'recorded long ago'"), ("damaged", "{ ("), ("next", "'runs now'"));

        var read = RecordedDefinitions.WorkflowFromScript(script);

        Assert.Equal(["done", "damaged", "next"], read.Steps.Select(s => s.Name));
        Assert.Equal("'runs now'", read.Steps[2].Body.ToString());
        var error = Assert.Throws<ArcpException>(() => read.Steps[1].Body);
        Assert.Equal(ErrorCodes.DataLoss, error.Code);
        Assert.Contains("'damaged'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"steps":[{"name":"a","run":"1"},{"name":"a","run":"2"}]}""")]
    [InlineData("""{"steps":[{"name":" ","run":"1"}]}""")]
    [InlineData("""{"steps":[{"name":"a"}]}""")]
    [InlineData("""{"steps":[]}""")]
    [InlineData("""{"nothing":1}""")]
    [InlineData("""not json""")]
    [InlineData("""[1]""")]
    [InlineData("""{"steps":{}}""")]
    [InlineData("""{"steps":[1]}""")]
    [InlineData("""{"steps":[{"name":1,"run":"1"}]}""")]
    [InlineData("""{"steps":[{"name":"a","run":{}}]}""")]
    [InlineData("""{"steps":[{"name":"a","run":"1","policy":{"MaxAttempts":"many"}}]}""")]
    [InlineData("""{"steps":[{"name":"a","run":"1","policy":{"RetryOn":"{ ("}}]}""")]
    public void A_recorded_definition_that_cannot_be_read_is_DATA_LOSS(string script)
    {
        var error = Assert.Throws<ArcpException>(() => RecordedDefinitions.WorkflowFromScript(script));
        Assert.Equal(ErrorCodes.DataLoss, error.Code);
    }

    [Fact]
    public void A_recorded_policy_reads_back_from_its_json()
    {
        var script = """{"steps":[{"name":"a","run":"1","policy":{"MaxAttempts":3,"RetryDelay":"00:00:05","Backoff":"Linear","Timeout":"00:01:00","RetryOn":"param($err) $true"}}]}""";

        var policy = RecordedDefinitions.WorkflowFromScript(script).Policies["a"];

        Assert.Equal(3, policy.Policy.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(5), policy.Policy.RetryDelay);
        Assert.Equal(Arcp.Resumability.Steps.StepBackoff.Linear, policy.Policy.Backoff);
        Assert.Equal(TimeSpan.FromMinutes(1), policy.Policy.Timeout);
        Assert.Equal("param($err) $true", policy.RetryOn?.ToString());
    }

    private static string Record(params (string Name, string Run)[] steps) =>
        new JsonObject { ["steps"] = new JsonArray([.. steps.Select(s => (JsonNode)new JsonObject { ["name"] = s.Name, ["run"] = s.Run })]) }.ToJsonString();
}

using System.Collections;
using System.Text.Json.Nodes;
using Arcp.Resumability.PowerShell;
using Arcp.Resumability.PowerShell.Serialization;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Tests.Cmdlets;

/// <summary>
/// Checkpoints as Get-ArcpCheckpoint lists them: the output becomes PowerShell values when Output is first read,
/// so a long listing of which a pipeline keeps one (Select-Object -Last 1) does not convert every output (issue 12);
/// the values, and the warning for an enum that is not loaded, are what an eager conversion gives.
/// </summary>
public sealed class ListedCheckpointTests
{
    [Fact]
    public void A_listed_output_reads_as_the_eager_conversion_and_the_same_objects_on_every_read()
    {
        const string Output = """{"$arcp":"ordered","Count":3,"At":{"$arcp":"datetimeoffset","v":"2026-12-02T03:00:00.0000000+00:00"},"Items":["a","b"]}""";
        var eager = new ArcpCheckpoint(Summary(Output), "store.db");
        var listed = ArcpCheckpoint.Listed(Summary(Output), "store.db", _ => Assert.Fail("no warning expected"));

        var first = listed.Output;

        var expected = Assert.IsAssignableFrom<IDictionary>(eager.Output);
        var actual = Assert.IsAssignableFrom<IDictionary>(first);
        Assert.Equal(expected.Keys.Cast<object>(), actual.Keys.Cast<object>());
        Assert.Equal(expected["Count"], actual["Count"]);
        Assert.Equal(expected["At"], actual["At"]);
        Assert.Equal(((IEnumerable)expected["Items"]!).Cast<object>(), ((IEnumerable)actual["Items"]!).Cast<object>());
        Assert.Same(first, listed.Output);
    }

    [Fact]
    public void A_listed_output_is_not_converted_until_it_is_read()
    {
        // A tagged value that cannot be read stands for "converted": listing it must not touch it, reading Output must.
        const string Damaged = """{"$arcp":"guid","v":"not a guid"}""";
        Assert.Throws<JsonConversionException>(() => new ArcpCheckpoint(Summary(Damaged), "store.db"));

        var listed = ArcpCheckpoint.Listed(Summary(Damaged), "store.db", _ => { });

        Assert.Equal("c1", listed.CheckpointId);
        Assert.Throws<JsonConversionException>(() => listed.Output);
    }

    [Fact]
    public void A_listed_output_naming_an_enum_that_is_not_loaded_warns_while_it_is_listed()
    {
        const string Output = """{"$arcp":"hashtable","Shade":{"$arcp":"enum","type":"Contoso.Unloaded.Shade","v":"Dark"},"Day":{"$arcp":"enum","type":"System.DayOfWeek","v":"Monday"}}""";
        var warnings = new List<string>();

        var listed = ArcpCheckpoint.Listed(Summary(Output), "store.db", warnings.Add);

        var warning = Assert.Single(warnings);
        Assert.Contains("[Contoso.Unloaded.Shade]", warning, StringComparison.Ordinal);
        var output = Assert.IsAssignableFrom<IDictionary>(listed.Output);
        Assert.Equal("Dark", output["Shade"]);
        Assert.Equal(DayOfWeek.Monday, output["Day"]);
        Assert.Single(warnings);
    }

    [Fact]
    public void A_listed_checkpoint_without_output_reads_null()
    {
        var listed = ArcpCheckpoint.Listed(new CheckpointSummary("c1", "job_1", "s1", 0, "msg_1", "key-1", "2026-12-02T03:00:00Z"), "store.db", _ => { });

        Assert.Null(listed.Output);
    }

    private static CheckpointSummary Summary(string output) =>
        new("c1", "job_1", "s1", 0, "msg_1", "key-1", "2026-12-02T03:00:00Z") { Output = JsonNode.Parse(output) };
}

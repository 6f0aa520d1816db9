using System.Text.Json.Nodes;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>
/// Interoperability with other ARCP implementations (docs/protocol.md, "Talking to other ARCP implementations"):
/// frames written the way the RFC's examples and the seed example show them.
/// </summary>
public abstract partial class ConformanceTests
{
    [Fact]
    public async Task S21_1_every_extension_key_the_runtime_sends_ends_in_a_version()
    {
        var peer = await PeerAsync();
        var accepted = await peer.OpenAsync("tok-alice");
        var capabilities = accepted.Payload()["capabilities"]!.AsObject();
        Assert.All(capabilities.Select(pair => pair.Key).Where(key => key.StartsWith("arcpx.", StringComparison.Ordinal)), key => Assert.Matches(@"\.v[0-9]+$", key));

        var start = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "counting", ["inputs"] = "in" });
        await peer.SendAsync(start);
        var jobAccepted = await peer.ReceiveAsync();
        Assert.Equal("job.accepted", jobAccepted.Type());
        Assert.All(jobAccepted["extensions"]!.AsObject().Select(pair => pair.Key), key => Assert.Matches(@"\.v[0-9]+$", key));
    }

    [Fact]
    public async Task The_driver_extension_under_its_old_unversioned_name_is_still_honoured()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var start = peer.Envelope("workflow.start", new JsonObject { ["workflow"] = "counting", ["inputs"] = "in" }, new JsonObject { ["extensions"] = new JsonObject { ["arcpx.resumability.driver"] = "client" } });
        await peer.SendAsync(start);
        var accepted = await peer.ReceiveAsync();

        Assert.Equal("job.accepted", accepted.Type());
        Assert.Equal("client", (string?)accepted["extensions"]!["arcpx.resumability.driver.v1"]);
        Assert.Null(accepted["extensions"]!["arcpx.resumability.driver"]);
    }
}

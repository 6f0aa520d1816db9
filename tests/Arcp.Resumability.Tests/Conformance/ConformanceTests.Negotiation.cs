using System.Text.Json.Nodes;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>§7/§21.2 negotiation of required features and extensions, and §10.4's deadline on a cooperative cancel.</summary>
public abstract partial class ConformanceTests
{
    [Fact]
    public async Task S7_a_required_feature_or_extension_the_runtime_lacks_is_rejected_as_unimplemented()
    {
        var viaList = await PeerAsync();
        var rejected = await viaList.RequestAsync(viaList.Envelope("session.open", OpenPayload(new JsonObject { ["required"] = new JsonArray("durable_jobs", "interrupt", "com.acme.workflow.v2") })));
        Assert.Equal("session.rejected", rejected.Type());
        Assert.Equal("UNIMPLEMENTED", (string?)rejected.Payload()["code"]);
        Assert.Equal(["interrupt", "com.acme.workflow.v2"], rejected.Payload()["details"]!["unsupported"]!.AsArray().Select(n => (string?)n));

        var viaObject = await PeerAsync();
        var extensions = new JsonArray("arcpx.example.v1", new JsonObject { ["name"] = "arcpx.example.required.v1", ["required"] = true });
        var refused = await viaObject.RequestAsync(viaObject.Envelope("session.open", OpenPayload(new JsonObject { ["extensions"] = extensions })));
        Assert.Equal("session.rejected", refused.Type());
        Assert.Equal(["arcpx.example.required.v1"], refused.Payload()["details"]!["unsupported"]!.AsArray().Select(n => (string?)n));

        var supported = await PeerAsync();
        var accepted = await supported.RequestAsync(supported.Envelope("session.open", OpenPayload(new JsonObject
        {
            ["required"] = new JsonArray("durable_jobs", "subscriptions"),
            ["extensions"] = new JsonArray("arcpx.example.v1", new JsonObject { ["name"] = "arcpx.resumability.v1", ["required"] = true }),
        })));
        Assert.Equal("session.accepted", accepted.Type());
    }

    [Fact]
    public async Task S21_2_an_extension_field_the_runtime_does_not_advertise_is_unimplemented_unless_optional()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var unknown = peer.Envelope("ping", extra: new JsonObject { ["extensions"] = new JsonObject { ["com.acme.priority_boost.v1"] = true } });
        var nack = await peer.RequestAsync(unknown);
        nack.AssertNack("UNIMPLEMENTED", (string)unknown["id"]!);
        Assert.True(((string)nack.Payload()["message"]!).Contains("com.acme.priority_boost.v1", StringComparison.Ordinal), (string)nack.Payload()["message"]!);

        var optional = peer.Envelope("ping", extra: new JsonObject { ["extensions"] = new JsonObject { ["com.acme.priority_boost.v1"] = true, ["optional"] = true } });
        Assert.Equal("pong", (await peer.RequestAsync(optional)).Type());
        var transportInternal = peer.Envelope("ping", extra: new JsonObject { ["extensions"] = new JsonObject { ["x-hop"] = 1 } });
        Assert.Equal("pong", (await peer.RequestAsync(transportInternal)).Type());
    }

    [Fact]
    public async Task S10_4_a_cancel_whose_deadline_passes_ends_the_job_with_an_aborted_terminal_event()
    {
        var owner = await OpenPeerAsync("tok-alice");
        var jobId = await StartClientJobAsync(owner);
        await owner.ReceiveAsync();
        var canceller = await OpenPeerAsync("tok-alice");

        var cancel = canceller.Envelope("cancel", new JsonObject { ["target"] = "job", ["target_id"] = jobId, ["reason"] = "user_aborted", ["deadline_ms"] = 200 });
        var accepted = await canceller.RequestAsync(cancel);
        Assert.Equal("cancel.accepted", accepted.Type());
        var (terminal, _) = await canceller.ReceiveUntilAsync("job.cancelled");

        Assert.Equal(jobId, (string?)terminal["job_id"]);
        Assert.Equal((string)cancel["id"]!, (string?)terminal["causation_id"]);
        Assert.Equal("ABORTED", (string?)terminal.Payload()["code"]);
        Assert.Equal(200, (long)terminal.Payload()["details"]!["deadline_ms"]!);
        Assert.Equal("cancelled", (string?)(await QueryJobAsync(canceller, jobId))["state"]);
        var late = owner.Envelope("job.progress", new JsonObject { ["percent"] = 90 }, new JsonObject { ["job_id"] = jobId });
        Assert.Equal("nack", (await owner.RequestAsync(late)).Type());
    }

    [Fact]
    public async Task S10_4_an_owner_that_cancels_within_the_deadline_is_not_overruled()
    {
        var owner = await OpenPeerAsync("tok-alice");
        var jobId = await StartClientJobAsync(owner);
        await owner.ReceiveAsync();
        var canceller = await OpenPeerAsync("tok-alice");
        Assert.Equal("cancel.accepted", (await canceller.RequestAsync(canceller.Envelope("cancel", new JsonObject { ["target"] = "job", ["target_id"] = jobId, ["deadline_ms"] = 300 }))).Type());

        var cancelled = owner.Envelope("job.cancelled", new JsonObject { ["code"] = "CANCELLED", ["message"] = "stopped at a clean checkpoint" }, new JsonObject { ["job_id"] = jobId });
        Assert.Equal("ack", (await owner.RequestAsync(cancelled)).Type());
        await Task.Delay(600);

        var stream = await canceller.RequestAsync(canceller.Envelope("arcpx.resumability.event_query.v1", extra: new JsonObject { ["job_id"] = jobId }));
        var terminals = stream.Payload()["events"]!.AsArray().Where(e => (string?)e!["type"] == "job.cancelled").ToList();
        Assert.Equal((string)cancelled["id"]!, (string?)Assert.Single(terminals)!["message_id"]);
        Assert.Equal("CANCELLED", (string?)(await QueryJobAsync(canceller, jobId))["error"]!["code"]);
    }

    [Fact]
    public async Task S10_4_a_negative_deadline_is_invalid()
    {
        var peer = await OpenPeerAsync("tok-alice");
        var cancel = peer.Envelope("cancel", new JsonObject { ["target"] = "job", ["target_id"] = "job_x", ["deadline_ms"] = -1 });
        (await peer.RequestAsync(cancel)).AssertNack("INVALID_ARGUMENT", (string)cancel["id"]!);
    }

    private static JsonObject OpenPayload(JsonObject capabilities) => new()
    {
        ["auth"] = new JsonObject { ["scheme"] = "bearer", ["token"] = "tok-alice" },
        ["client"] = new JsonObject { ["kind"] = "raw-test", ["version"] = "1" },
        ["capabilities"] = capabilities,
    };
}

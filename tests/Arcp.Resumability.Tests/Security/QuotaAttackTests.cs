using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Runtime;
using Arcp.Resumability.Store.Sqlite;
using Arcp.Resumability.Tests.Core;
using Arcp.Resumability.Transports;

namespace Arcp.Resumability.Tests.Security;

/// <summary>Issue 9, finding 12: one principal flooding the runtime with large events.</summary>
[Trait("Category", "Security")]
public sealed class QuotaAttackTests : IDisposable
{
    private static readonly Dictionary<string, string> Tokens = new() { ["tok-a"] = "alice", ["tok-b"] = "bob" };
    private readonly TestStore folder = new();

    [Fact]
    public async Task A_client_flooding_100_KB_logs_gets_RESOURCE_EXHAUSTED_with_retry_after_ms_and_another_principal_is_still_answered()
    {
        await using var store = await SqliteArcpStore.OpenAsync(folder.Path, CancellationToken.None);
        var quota = new QuotaOptions { EventsPerSecond = 50, BytesPerSecond = 256 * 1024, BurstSeconds = 4 };
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens, Quota = quota });
        await using var alice = await ConnectAsync(runtime, "tok-a");
        await using var bob = await ConnectAsync(runtime, "tok-b");
        var jobId = (await alice.StartWorkflowAsync("flood", null, null, null, CancellationToken.None)).JobId;
        var line = new string('x', 100 * 1024);

        ArcpException? refused = null;
        var accepted = 0;
        for (var i = 0; i < 300 && refused is null; i++)
        {
            try
            {
                await alice.EmitAsync(MessageTypes.Log, jobId, new LogPayload("info", line), null, CancellationToken.None);
                accepted++;
            }
            catch (ArcpException ex)
            {
                refused = ex;
            }
        }

        Assert.NotNull(refused);
        Assert.Equal(ErrorCodes.ResourceExhausted, refused.Code);
        var retryAfter = refused.Error.Details?["retry_after_ms"]?.GetValue<long>();
        Assert.True(retryAfter > 0, $"retry_after_ms was {retryAfter}");
        Assert.True(accepted < 300, "the flood was never throttled");
        // The bucket held about 1 MiB (4 s of 256 KiB/s): the flood stored about that much, not 30 MB.
        var logged = (await alice.QueryEventsAsync(jobId, null, CancellationToken.None)).Count(e => e.Type == MessageTypes.Log);
        Assert.True(logged <= 20, $"{logged} flood events were stored");

        var jobs = await bob.QueryJobsAsync(new JobQueryPayload(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(jobs);

        await Task.Delay(TimeSpan.FromMilliseconds(retryAfter!.Value + 50));
        var ack = await alice.EmitAsync(MessageTypes.Log, jobId, new LogPayload("info", "after the wait"), null, CancellationToken.None);
        Assert.Equal(MessageTypes.Log, (await alice.QueryEventsAsync(jobId, null, CancellationToken.None))[^1].Type);
        Assert.NotNull(ack);
    }

    [Fact]
    public async Task The_embedded_runtime_is_not_throttled_by_default()
    {
        await using var store = await SqliteArcpStore.OpenAsync(folder.Path, CancellationToken.None);
        await using var runtime = new ArcpRuntime(store, new RuntimeOptions { BearerTokens = Tokens });
        await using var alice = await ConnectAsync(runtime, "tok-a");
        var jobId = (await alice.StartWorkflowAsync("busy", null, null, null, CancellationToken.None)).JobId;
        var line = new string('x', 100 * 1024);
        for (var i = 0; i < 40; i++)
        {
            await alice.EmitAsync(MessageTypes.Log, jobId, new LogPayload("info", line), null, CancellationToken.None);
        }

        Assert.Null(runtime.Options.Quota);
        Assert.Equal(40, (await alice.QueryEventsAsync(jobId, null, CancellationToken.None)).Count(e => e.Type == MessageTypes.Log));
    }

    public void Dispose() => folder.Dispose();

    /// <summary>A peer that ignores <c>retry_after_ms</c> (no throttle retry), so every refusal reaches the test.</summary>
    private static async Task<ArcpClient> ConnectAsync(ArcpRuntime runtime, string token)
    {
        var (client, server) = InMemoryTransport.CreatePair();
        _ = Task.Run(() => runtime.ServeAsync(server, CancellationToken.None));
        return await ArcpClient.ConnectAsync(client, new ClientOptions { Auth = new AuthBlock("bearer", token), RequestTimeout = TimeSpan.FromSeconds(30), ThrottleRetry = null }, CancellationToken.None);
    }
}

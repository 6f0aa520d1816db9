using System.Diagnostics;
using System.Runtime.Versioning;
using Arcp.Resumability.Client;
using Arcp.Resumability.Embedding;
using Arcp.Resumability.Tests.Core;

namespace Arcp.Resumability.Tests.Security;

/// <summary>Issue 9, finding 5: another local user reading a step's secret output from the store files.</summary>
[Trait("Category", "Security")]
[UnsupportedOSPlatform("windows")]
public sealed class StoreFileModeAttackTests : IDisposable
{
    private readonly TestStore folder = new();

    [UnixFact]
    public async Task Another_local_user_cannot_read_a_new_store_its_wal_or_its_shm()
    {
        var storeFolder = Path.Combine(folder.Folder, "not-yet", "arcp");
        var path = Path.Combine(storeFolder, "arcp.db");
        await using (var arcp = await EmbeddedArcp.OpenAsync(path, null, CancellationToken.None))
        {
            var steps = new CountingWorkflow("secret-step");
            await new Arcp.Resumability.Steps.StepRunner(arcp.Client).StartAsync(steps.Definition, System.Text.Json.Nodes.JsonValue.Create("s3cret-output"), null, null, null, CancellationToken.None);

            // While the store is open SQLite keeps its write-ahead log and shared-memory index next to it.
            Assert.True(File.Exists(path + "-wal"), "no -wal file to check");
            Assert.True(File.Exists(path + "-shm"), "no -shm file to check");
            Assert.Equal("600", Stat(path));
            Assert.Equal("600", Stat(path + "-wal"));
            Assert.Equal("600", Stat(path + "-shm"));
        }

        Assert.Equal("700", Stat(storeFolder));
        Assert.Equal("700", Stat(Path.GetDirectoryName(storeFolder)!));
    }

    [UnixFact]
    public async Task An_existing_folder_the_operator_chose_keeps_its_mode_but_the_new_store_in_it_is_private()
    {
        var shared = Path.Combine(folder.Folder, "shared");
        Directory.CreateDirectory(shared);
        File.SetUnixFileMode(shared, (UnixFileMode)Convert.ToInt32("755", 8));
        var path = Path.Combine(shared, "arcp.db");

        await using (var arcp = await EmbeddedArcp.OpenAsync(path, null, CancellationToken.None))
        {
            Assert.Equal("600", Stat(path));
        }

        Assert.Equal("755", Stat(shared));
    }

    public void Dispose() => folder.Dispose();

    /// <summary>The file's permission bits as the operating system reports them (<c>stat</c>, not .NET's view).</summary>
    private static string Stat(string path)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%a", path]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        Assert.True(stat.ExitCode == 0, $"stat {path} failed: {stat.StandardError.ReadToEnd()}");
        return output;
    }
}

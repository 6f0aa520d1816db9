using System.Reflection;
using Arcp.Resumability.Runtime;
using NetArchTest.Rules;

namespace Arcp.Resumability.Tests.Architecture;

/// <summary>
/// The layers of Arcp.Resumability.Core, each a namespace depending only on the ones below it:
/// protocol → transports → store → jobs → runtime → client → steps → embedding (the in-process composition).
/// Every layer is checked against every namespace it must not use, so a new upward or sideways reference fails here.
/// </summary>
public sealed class LayerTests
{
    private const string Root = "Arcp.Resumability.";
    private static readonly Assembly Core = typeof(ArcpRuntime).Assembly;

    /// <summary>Each layer and the layers of Core it may use (protocol is implied for all).</summary>
    public static TheoryData<string, string[]> Layers => new()
    {
        { "Protocol", [] },
        { "Transports", ["Protocol"] },
        { "Store", ["Protocol"] },
        { "Jobs", ["Store", "Protocol"] },
        // The runtime logs every envelope it sends or receives in the store's event log (the persist-and-reply
        // pipeline and resume's replay read it); every decision about a job goes through the job layer.
        { "Runtime", ["Jobs", "Store", "Transports", "Protocol"] },
        { "Client", ["Transports", "Protocol"] },
        { "Steps", ["Client", "Protocol"] },
        { "Embedding", ["Steps", "Client", "Runtime", "Jobs", "Store", "Transports", "Protocol"] },
    };

    private static readonly string[] AllLayers = ["Protocol", "Transports", "Store", "Jobs", "Runtime", "Client", "Steps", "Embedding"];

    [Theory]
    [MemberData(nameof(Layers))]
    public void A_layer_uses_only_the_layers_below_it(string layer, string[] allowed)
    {
        var forbidden = AllLayers.Where(other => other != layer && !allowed.Contains(other)).Select(other => Root + other).ToArray();
        if (forbidden.Length == 0)
        {
            return;
        }

        var result = Types.InAssembly(Core).That().ResideInNamespace(Root + layer).ShouldNot().HaveDependencyOnAny(forbidden).GetResult();

        Assert.True(result.IsSuccessful, $"{layer} uses a layer it must not ({string.Join(", ", forbidden)}): {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void Every_type_of_the_core_belongs_to_a_layer()
    {
        var stray = Types.InAssembly(Core).That().ResideInNamespace("Arcp.Resumability").GetTypes()
            .Where(t => t.Namespace is { } ns && !AllLayers.Any(layer => ns == Root + layer || ns.StartsWith(Root + layer + ".", StringComparison.Ordinal)))
            .Where(t => !t.Name.StartsWith('<'))
            .Select(t => t.FullName)
            .ToList();

        Assert.Empty(stray);
    }

    [Fact]
    public void The_core_does_not_use_PowerShell()
    {
        var result = Types.InAssembly(Core).ShouldNot().HaveDependencyOn("System.Management.Automation").GetResult();

        Assert.True(result.IsSuccessful, $"Core types use PowerShell: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Theory]
    [InlineData("Microsoft.Data.Sqlite", "Store.Sqlite")]
    [InlineData("SQLitePCL", "Store.Sqlite")]
    [InlineData("Npgsql", "Store.Postgres")]
    public void A_database_driver_is_used_only_in_its_store_folder(string driver, string folder)
    {
        var result = Types.InAssembly(Core).That().DoNotResideInNamespace(Root + folder).ShouldNot().HaveDependencyOn(driver).GetResult();

        Assert.True(result.IsSuccessful, $"{driver} is used outside {Root + folder}: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }
}

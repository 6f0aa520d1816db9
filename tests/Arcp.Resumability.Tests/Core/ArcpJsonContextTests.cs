using System.Text.Json.Serialization.Metadata;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Tests.Core;

/// <summary>
/// The wire records are serialized from compiled contracts (ArcpJsonContext), not by reflection, so a new process does
/// not pay for reflecting over them; a record added to the protocol without a contract would silently fall back.
/// </summary>
public sealed class ArcpJsonContextTests
{
    private static readonly Type[] Records = typeof(Envelope).Assembly.GetExportedTypes()
        .Where(type => type.Namespace == typeof(Envelope).Namespace && type.GetMethod("<Clone>$") is not null)
        .OrderBy(type => type.Name, StringComparer.Ordinal)
        .ToArray();

    public static TheoryData<Type> WireRecords() => new(Records);

    [Fact]
    public void The_protocol_has_wire_records_to_check()
    {
        Assert.Contains(typeof(Envelope), Records);
        Assert.Contains(typeof(UnsubscribePayload), Records);
        Assert.True(Records.Length > 40, $"Every payload record of the protocol namespace should be found, not {Records.Length}.");
    }

    [Theory]
    [MemberData(nameof(WireRecords))]
    public void Every_wire_record_is_serialized_from_its_compiled_contract(Type type)
    {
        var info = ArcpJson.Options.GetTypeInfo(type);

        Assert.Same(ArcpJsonContext.Default, info.OriginatingResolver);
        Assert.Equal(JsonTypeInfoKind.Object, info.Kind);
        Assert.NotEmpty(info.Properties);
    }
}

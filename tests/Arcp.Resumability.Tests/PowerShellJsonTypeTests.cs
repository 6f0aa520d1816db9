using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using System.Numerics;
using System.Text.Json.Nodes;
using Arcp.Resumability.PowerShell.Serialization;
// The project's own Arcp.Resumability.PowerShell namespace would shadow the PowerShell class here.
using Pwsh = System.Management.Automation.PowerShell;

namespace Arcp.Resumability.Tests;

/// <summary>The type tags: every value comes back as the type it was, and stored values from earlier versions still read.</summary>
public sealed class PowerShellJsonTypeTests
{
    public static TheoryData<string, string> Values => new()
    {
        { "@{ a = 1; B = 'x' }", "System.Collections.Hashtable" },
        { "[ordered]@{ z = 1; a = 2 }", "System.Collections.Specialized.OrderedDictionary" },
        { "[pscustomobject]@{ a = 1 }", "System.Management.Automation.PSCustomObject" },
        { "@{}", "System.Collections.Hashtable" },
        { ",@(1, 'two', $null)", "System.Object[]" },
        { "[guid]'6f1c2b7e-1d2a-4c53-9a0e-0a4b5c6d7e8f'", "System.Guid" },
        { "[version]'1.2'", "System.Version" },
        { "[timespan]::FromTicks(-1234567890123)", "System.TimeSpan" },
        { "[uri]'https://example.org/x?y=1#z'", "System.Uri" },
        { "[datetime]::new(2024, 3, 15, 12, 30, 45, [DateTimeKind]::Utc).AddTicks(4567)", "System.DateTime" },
        { "[datetime]::new(2024, 3, 15, 12, 30, 45, [DateTimeKind]::Local)", "System.DateTime" },
        { "[datetime]::new(2024, 3, 15, 12, 30, 45, [DateTimeKind]::Unspecified)", "System.DateTime" },
        { "[datetimeoffset]::new(2024, 1, 2, 3, 4, 5, [timespan]::FromHours(-9.5))", "System.DateTimeOffset" },
        { "1.2345678901234567890123456789d", "System.Decimal" },
        { "[bigint]::Pow(2, 100)", "System.Numerics.BigInteger" },
        { ",[byte[]](1, 2, 3)", "System.Byte[]" },
        { "42", "System.Int32" },
        { "42L", "System.Int64" },
        { "0.1", "System.Double" },
        { "[double]::NaN", "System.Double" },
        { "$true", "System.Boolean" },
        { "[char]'q'", "System.Char" },
        { "'2024-01-01T00:00:00Z'", "System.String" },
        { "[DayOfWeek]::Friday", "System.DayOfWeek" },
        { "[System.IO.FileAttributes]'ReadOnly, Hidden'", "System.IO.FileAttributes" },
        { "[int128]::MaxValue", "System.Int128" },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void Each_value_comes_back_as_its_own_type_and_value_from_text_and_from_the_in_memory_node(string expression, string expectedType)
    {
        var value = Evaluate(expression);
        Assert.Equal(expectedType, TypeName(value));

        var fromText = PowerShellJson.FromJson(PowerShellJson.ToJson(value));
        var fromNode = PowerShellJson.FromJsonNode(PowerShellJson.ToJsonNode(value));

        Assert.Equal(expectedType, TypeName(fromText));
        Assert.Equal(expectedType, TypeName(fromNode));
        Assert.Equal(Describe(value), Describe(fromText));
        Assert.Equal(Describe(value), Describe(fromNode));
    }

    [Fact]
    public void Read_back_dictionaries_ignore_case_like_the_ones_PowerShell_builds()
    {
        var table = Assert.IsType<Hashtable>(PowerShellJson.FromJson(PowerShellJson.ToJson(Evaluate("@{ Name = 'x' }"))));
        var ordered = Assert.IsType<OrderedDictionary>(PowerShellJson.FromJson(PowerShellJson.ToJson(Evaluate("[ordered]@{ Name = 'x' }"))));

        Assert.Equal("x", table["NAME"]);
        Assert.Equal("x", ordered["name"]);
    }

    [Theory]
    [InlineData("@{ '$arcp' = 'mine' }", """{"$arcp":"hashtable","$$arcp":"mine"}""")]
    [InlineData("[pscustomobject]@{ '$arcp' = 'guid'; v = 'not a guid' }", """{"$$arcp":"guid","v":"not a guid"}""")]
    [InlineData("[ordered]@{ '$$arcp' = 1; '$arcp' = 2; 'x$arcp' = 3; Nested = @{ '$$$arcp' = 4 } }", """{"$arcp":"ordered","$$$arcp":1,"$$arcp":2,"x$arcp":3,"Nested":{"$arcp":"hashtable","$$$$arcp":4}}""")]
    public void User_keys_that_read_like_the_tag_are_escaped_and_round_trip(string expression, string expectedJson)
    {
        var value = Evaluate(expression);

        var json = PowerShellJson.ToJson(value);

        Assert.Equal(expectedJson, json);
        Assert.Equal(Describe(value), Describe(PowerShellJson.FromJson(json)));
    }

    [Fact]
    public void Hashtable_keys_PowerShell_reserves_for_objects_are_fine_in_a_hashtable()
    {
        var back = Assert.IsType<Hashtable>(PowerShellJson.FromJson(PowerShellJson.ToJson(Evaluate("@{ PSObject = 1; '' = 2 }"))));

        Assert.Equal(1, back["psobject"]);
        Assert.Equal(2, back[string.Empty]);
    }

    [Theory]
    [InlineData("[pscredential]::new('user', (ConvertTo-SecureString 'pw' -AsPlainText -Force))", "$", "System.Management.Automation.PSCredential")]
    [InlineData("@{ Login = @{ Secret = (ConvertTo-SecureString 'pw' -AsPlainText -Force) } }", "$.Login.Secret", "System.Security.SecureString")]
    [InlineData(",@(1, [System.Net.NetworkCredential]::new('user', 'pw'))", "$[1]", "System.Net.NetworkCredential")]
    public void Secrets_are_refused_with_a_pointer_to_SecretManagement(string expression, string expectedPath, string expectedType)
    {
        var value = Evaluate(expression);

        var output = Assert.Throws<JsonConversionException>(() => PowerShellJson.ToJson(value));
        var input = Assert.Throws<JsonConversionException>(() => PowerShellJson.ToJson(value, subject: PowerShellJson.JobInput));

        Assert.Equal(expectedPath, output.Path);
        Assert.StartsWith($"Step output at {expectedPath} is a {expectedType}, a secret,", output.Message, StringComparison.Ordinal);
        Assert.Contains("SecretManagement", output.Message, StringComparison.Ordinal);
        Assert.Contains("Get-Secret", output.Message, StringComparison.Ordinal);
        Assert.StartsWith($"Job input at {expectedPath} is a {expectedType}, a secret,", input.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Step output", input.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_enum_whose_type_is_not_loaded_comes_back_as_its_name_with_one_warning_per_type()
    {
        const string Json = """[{"$arcp":"enum","type":"Contoso.Unloaded.Color","v":"Red"},{"$arcp":"enum","type":"Contoso.Unloaded.Color","v":"Blue"},{"$arcp":"enum","type":"System.DayOfWeek","v":"Monday"}]""";
        var warnings = new List<string>();

        var back = Assert.IsType<object[]>(PowerShellJson.FromJson(Json, warnings.Add, "The input of step 'paint'"));

        Assert.Equal("Red", Assert.IsType<string>(back[0]));
        Assert.Equal("Blue", Assert.IsType<string>(back[1]));
        Assert.Equal(DayOfWeek.Monday, Assert.IsType<DayOfWeek>(back[2]));
        var warning = Assert.Single(warnings);
        Assert.StartsWith("The input of step 'paint' at $[0] holds the value 'Red' of the enum [Contoso.Unloaded.Color], which is not loaded", warning, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("System.IO.FileAttributes, System.Private.CoreLib")]
    [InlineData("System.Collections.Generic.List`1[[System.DayOfWeek]]")]
    [InlineData("System.String")]
    public void Enum_type_names_are_only_looked_up_as_plain_names_of_loaded_enums(string typeName)
    {
        var json = new JsonObject { ["$arcp"] = "enum", ["type"] = typeName, ["v"] = "Monday" }.ToJsonString();
        var warnings = new List<string>();

        Assert.Equal("Monday", PowerShellJson.FromJson(json, warnings.Add));
        Assert.Single(warnings);
    }

    [Fact]
    public void A_script_defined_enum_comes_back_as_the_enum_while_its_type_is_loaded()
    {
        using var ps = Pwsh.Create();
        var results = ps.AddScript("""
            enum ArcpJsonTestShade { Light = 1; Dark = 2 }
            $json = $args[0]::ToJson([ArcpJsonTestShade]::Dark)
            $back = $args[0]::FromJson($json, $null, 'x')
            $json
            $back.GetType().FullName
            $back -eq [ArcpJsonTestShade]::Dark
            """).AddArgument(typeof(PowerShellJson)).Invoke();

        Assert.Empty(ps.Streams.Error);
        Assert.Equal(["""{"$arcp":"enum","type":"ArcpJsonTestShade","v":"Dark"}""", "ArcpJsonTestShade", "True"], results.Select(r => r.ToString()));
    }

    [Theory]
    [InlineData("""{"$arcp":"guid","v":"nope"}""", "$", "is tagged 'guid' but its value \"nope\" is not a valid guid.")]
    [InlineData("""{"list":[{"$arcp":"long","v":"5"}]}""", "$.list[0]", "is tagged 'long' but its value \"5\" is not a valid long.")]
    [InlineData("""{"$arcp":"byte","v":300}""", "$", "is tagged 'byte' but its value 300 is not a valid byte.")]
    [InlineData("""{"$arcp":"guid"}""", "$", "is tagged 'guid' but holds no value in 'v'.")]
    [InlineData("""{"$arcp":"guid","v":"6f1c2b7e-1d2a-4c53-9a0e-0a4b5c6d7e8f","w":1}""", "$", "is tagged 'guid' but has an unexpected member 'w'.")]
    [InlineData("""{"$arcp":"ipaddress","v":"127.0.0.1"}""", "$", "is tagged 'ipaddress', a type this version of the module does not know")]
    [InlineData("""{"$arcp":7}""", "$", "has a '$arcp' member that is not a type name.")]
    [InlineData("""{"$arcp":"hashtable","a":1,"A":2}""", "$.A", "is a second key that reads 'A'")]
    [InlineData("""{"$arcp":"enum","v":"Monday"}""", "$", "is tagged 'enum' but does not name its type in 'type'.")]
    [InlineData("""{"$arcp":"double","v":"1e5"}""", "$", "is tagged 'double' but its value \"1e5\" is not a valid double.")]
    public void Malformed_tags_are_refused_with_their_path(string json, string expectedPath, string expectedProblem)
    {
        var error = Assert.Throws<JsonConversionException>(() => PowerShellJson.FromJson(json));

        Assert.Equal(expectedPath, error.Path);
        Assert.StartsWith($"Stored step output at {expectedPath} {expectedProblem}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_stored_untagged_by_earlier_versions_reads_back_as_before()
    {
        const string Json = """{"Name":"x","When":"2024-01-01T00:00:00Z","Id":"6f1c2b7e-1d2a-4c53-9a0e-0a4b5c6d7e8f","Count":5,"Big":5000000000,"Ratio":0.5,"Tags":["a"],"Inner":{"Deep":true}}""";

        var back = Assert.IsType<PSObject>(PowerShellJson.FromJson(Json));

        Assert.IsType<PSCustomObject>(back.BaseObject);
        Assert.Equal(DateTimeKind.Utc, Assert.IsType<DateTime>(back.Properties["When"].Value).Kind);
        Assert.IsType<string>(back.Properties["Id"].Value);
        Assert.IsType<int>(back.Properties["Count"].Value);
        Assert.IsType<long>(back.Properties["Big"].Value);
        Assert.IsType<double>(back.Properties["Ratio"].Value);
        Assert.IsType<object[]>(back.Properties["Tags"].Value);
        Assert.IsType<PSCustomObject>(Assert.IsType<PSObject>(back.Properties["Inner"].Value).BaseObject);
    }

    [Fact]
    public void Typed_arrays_other_than_byte_arrays_come_back_as_object_arrays_whose_elements_keep_their_type()
    {
        var back = Assert.IsType<object[]>(PowerShellJson.FromJson(PowerShellJson.ToJson(Evaluate(",[long[]](1, 2)"))));

        Assert.Equal(new object[] { 1L, 2L }, back);
    }

    private static object? Evaluate(string expression)
    {
        using var ps = Pwsh.Create();
        var results = ps.AddScript(expression).Invoke();
        Assert.Empty(ps.Streams.Error);
        return Assert.Single(results)?.BaseObject is PSCustomObject ? results[0] : results[0]?.BaseObject;
    }

    private static string TypeName(object? value) => value switch
    {
        null => "null",
        PSObject { BaseObject: PSCustomObject } => typeof(PSCustomObject).FullName!,
        PSObject wrapped => wrapped.BaseObject.GetType().FullName!,
        _ => value.GetType().FullName!,
    };

    // A canonical text of type and value: dates by kind and ticks (Local by instant), doubles by their bits, decimals with their scale.
    private static string Describe(object? value) => value switch
    {
        null => "null",
        PSObject { BaseObject: PSCustomObject } custom => "{" + string.Join(",", custom.Properties.Select(p => $"{p.Name}={Describe(p.Value)}")) + "}",
        PSObject wrapped => Describe(wrapped.BaseObject),
        IDictionary dictionary => TypeName(value) + "{" + string.Join(",", dictionary.Cast<DictionaryEntry>().Select(e => $"{e.Key}={Describe(e.Value)}").Order(StringComparer.Ordinal)) + "}",
        byte[] bytes => "bytes:" + Convert.ToHexString(bytes),
        object[] array => "[" + string.Join(",", array.Select(Describe)) + "]",
        DateTime date => $"DateTime:{date.Kind}:{(date.Kind == DateTimeKind.Local ? date.ToUniversalTime().Ticks : date.Ticks)}",
        DateTimeOffset date => $"DateTimeOffset:{date.Ticks}:{date.Offset}",
        double d => $"double:{BitConverter.DoubleToInt64Bits(d)}",
        BigInteger n => $"bigint:{n}",
        IFormattable formattable => $"{TypeName(value)}:{formattable.ToString(null, System.Globalization.CultureInfo.InvariantCulture)}",
        _ => $"{TypeName(value)}:{value}",
    };
}

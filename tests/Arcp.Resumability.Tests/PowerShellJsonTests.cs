using System.Collections;
using System.Collections.ObjectModel;
using System.Collections.Specialized;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Internal;
using System.Text.Json.Nodes;
using Arcp.Resumability.PowerShell.Serialization;
// The project's own Arcp.Resumability.PowerShell namespace would shadow the PowerShell class here.
using Pwsh = System.Management.Automation.PowerShell;

namespace Arcp.Resumability.Tests;

public sealed class PowerShellJsonTests
{
    [Fact]
    public void Nested_ordered_hashtables_keep_their_order_and_come_back_ordered()
    {
        var value = Evaluate("$v = [ordered]@{ Zeta = 1; Alpha = [ordered]@{ Mid = 'm'; Beta = @(1, 2) }; Gamma = $null }");

        var json = PowerShellJson.ToJson(value);

        Assert.Equal("""{"$arcp":"ordered","Zeta":1,"Alpha":{"$arcp":"ordered","Mid":"m","Beta":[1,2]},"Gamma":null}""", json);
        var back = Assert.IsType<OrderedDictionary>(PowerShellJson.FromJson(json));
        Assert.Equal(["Zeta", "Alpha", "Gamma"], back.Keys.Cast<string>());
        var alpha = Assert.IsType<OrderedDictionary>(back["alpha"]);
        Assert.Equal(["Mid", "Beta"], alpha.Keys.Cast<string>());
        Assert.Equal(new object[] { 1, 2 }, Assert.IsType<object[]>(alpha["Beta"]));
        Assert.True(back.Contains("Gamma"));
        Assert.Null(back["Gamma"]);
    }

    [Fact]
    public void Custom_object_properties_are_written_in_declaration_order()
    {
        var value = Evaluate("$v = [pscustomobject]@{ c = 1; a = 'two'; b = [pscustomobject]@{ y = 1; x = 2 } }");

        var json = PowerShellJson.ToJson(value);

        Assert.Equal("""{"c":1,"a":"two","b":{"y":1,"x":2}}""", json);
        var back = Assert.IsType<PSObject>(PowerShellJson.FromJson(json));
        Assert.Equal(["c", "a", "b"], PropertyNames(back));
        Assert.Equal(["y", "x"], PropertyNames(Assert.IsType<PSObject>(back.Properties["b"].Value)));
    }

    [Fact]
    public void Select_Object_output_keeps_only_the_selected_properties_in_selected_order()
    {
        var value = Evaluate("$v = [pscustomobject]@{ a = 1; b = 2; c = 3 } | Select-Object c, a");

        Assert.Equal("""{"c":3,"a":1}""", PowerShellJson.ToJson(value));
    }

    [Fact]
    public void Only_note_properties_of_a_custom_object_are_stored()
    {
        var value = Evaluate("$v = [pscustomobject]@{ a = 1 } | Add-Member -MemberType ScriptProperty -Name b -Value { 2 } -PassThru");

        Assert.Equal("""{"a":1}""", PowerShellJson.ToJson(value));
    }

    [Theory]
    [InlineData("$v = @(42)", "[42]", 1)]
    [InlineData("$v = @()", "[]", 0)]
    [InlineData("$v = @(@(), @(1), 'x')", """[[],[1],"x"]""", 3)]
    [InlineData("$v = [System.Collections.Generic.List[string]]::new([string[]]@('a', 'b'))", """["a","b"]""", 2)]
    [InlineData("$v = [System.Collections.ArrayList]@(1, 'b', $null)", """[1,"b",null]""", 3)]
    public void Arrays_keep_their_shape_including_single_and_empty_ones(string script, string expectedJson, int expectedCount)
    {
        var json = PowerShellJson.ToJson(Evaluate(script));

        Assert.Equal(expectedJson, json);
        Assert.Equal(expectedCount, Assert.IsType<object[]>(PowerShellJson.FromJson(json)).Length);
    }

    [Fact]
    public void Nested_empty_and_single_element_arrays_are_not_unrolled()
    {
        var back = Assert.IsType<object[]>(PowerShellJson.FromJson(PowerShellJson.ToJson(Evaluate("$inner = ,(,2); $v = @(@(), @(1), $inner)"))));

        Assert.Empty(Assert.IsType<object[]>(back[0]));
        Assert.Equal(new object[] { 1 }, Assert.IsType<object[]>(back[1]));
        var inner = Assert.IsType<object[]>(Assert.Single(Assert.IsType<object[]>(back[2])));
        Assert.Equal(new object[] { 2 }, inner);
    }

    [Theory]
    [InlineData("$v = 42", "42", typeof(int), "42")]
    [InlineData("$v = 3000000000", "3000000000", typeof(long), "3000000000")]
    [InlineData("$v = [long]::MinValue", "-9223372036854775808", typeof(long), "-9223372036854775808")]
    [InlineData("$v = 1.5", "1.5", typeof(double), "1.5")]
    [InlineData("$v = 0.1 + 0.2", "0.30000000000000004", typeof(double), "0.30000000000000004")]
    [InlineData("$v = [double]3", "3.0", typeof(double), "3")]
    [InlineData("$v = 1e20", "1E+20", typeof(double), "1E+20")]
    [InlineData("$v = [double]::NegativeZero", "-0.0", typeof(double), "-0")]
    [InlineData("$v = 5L", """{"$arcp":"long","v":5}""", typeof(long), "5")]
    [InlineData("$v = [byte]7", """{"$arcp":"byte","v":7}""", typeof(byte), "7")]
    [InlineData("$v = [sbyte]-7", """{"$arcp":"sbyte","v":-7}""", typeof(sbyte), "-7")]
    [InlineData("$v = [int16]-300", """{"$arcp":"short","v":-300}""", typeof(short), "-300")]
    [InlineData("$v = [uint16]65535", """{"$arcp":"ushort","v":65535}""", typeof(ushort), "65535")]
    [InlineData("$v = [uint32]4000000000", """{"$arcp":"uint","v":4000000000}""", typeof(uint), "4000000000")]
    [InlineData("$v = [ulong]::MaxValue", """{"$arcp":"ulong","v":18446744073709551615}""", typeof(ulong), "18446744073709551615")]
    [InlineData("$v = [bigint]::Pow(10, 40)", """{"$arcp":"bigint","v":"10000000000000000000000000000000000000000"}""", typeof(System.Numerics.BigInteger), "10000000000000000000000000000000000000000")]
    [InlineData("$v = [bigint]'-79228162514264337593543950336'", """{"$arcp":"bigint","v":"-79228162514264337593543950336"}""", typeof(System.Numerics.BigInteger), "-79228162514264337593543950336")]
    [InlineData("$v = [float]0.1", """{"$arcp":"float","v":0.1}""", typeof(float), "0.1")]
    [InlineData("$v = [float]3", """{"$arcp":"float","v":3.0}""", typeof(float), "3")]
    [InlineData("$v = [double]::NaN", """{"$arcp":"double","v":"NaN"}""", typeof(double), "NaN")]
    [InlineData("$v = [double]::PositiveInfinity", """{"$arcp":"double","v":"Infinity"}""", typeof(double), "Infinity")]
    [InlineData("$v = [float]::NegativeInfinity", """{"$arcp":"float","v":"-Infinity"}""", typeof(float), "-Infinity")]
    [InlineData("$v = 3.1415926535897932384626433833d", """{"$arcp":"decimal","v":"3.1415926535897932384626433833"}""", typeof(decimal), "3.1415926535897932384626433833")]
    [InlineData("$v = 0.0000000000000000000000000001d", """{"$arcp":"decimal","v":"0.0000000000000000000000000001"}""", typeof(decimal), "0.0000000000000000000000000001")]
    [InlineData("$v = 1.10d", """{"$arcp":"decimal","v":"1.10"}""", typeof(decimal), "1.10")]
    [InlineData("$v = 0d", """{"$arcp":"decimal","v":"0"}""", typeof(decimal), "0")]
    public void Numbers_keep_their_type_and_exact_value(string script, string expectedJson, Type expectedType, string expectedValue)
    {
        var json = PowerShellJson.ToJson(Evaluate(script));

        Assert.Equal(expectedJson, json);
        var back = PowerShellJson.FromJson(json);
        Assert.IsType(expectedType, back);
        Assert.Equal(expectedValue, Convert.ToString(back, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Negative_zero_keeps_its_sign()
    {
        var back = Assert.IsType<double>(PowerShellJson.FromJson(PowerShellJson.ToJson(-0.0)));

        Assert.True(double.IsNegative(back));
    }

    [Fact]
    public void Stored_integers_come_back_as_int_then_long_then_decimal_then_double()
    {
        var back = Assert.IsType<object[]>(PowerShellJson.FromJson("[2147483647,-2147483649,9223372036854775808,123456789012345678901234567890123]"));

        Assert.Equal(int.MaxValue, Assert.IsType<int>(back[0]));
        Assert.Equal(-2147483649L, Assert.IsType<long>(back[1]));
        Assert.Equal(9223372036854775808m, Assert.IsType<decimal>(back[2]));
        Assert.Equal(double.Parse("123456789012345678901234567890123", CultureInfo.InvariantCulture), Assert.IsType<double>(back[3]));
    }

    [Fact]
    public void Booleans_and_nulls_survive_inside_arrays_and_objects()
    {
        var json = PowerShellJson.ToJson(Evaluate("$v = @(1, $null, $true, $false, [ordered]@{ a = $null; b = $false }, [switch]$true, [DBNull]::Value)"));

        Assert.Equal("""[1,null,true,false,{"$arcp":"ordered","a":null,"b":false},true,null]""", json);
        var back = Assert.IsType<object[]>(PowerShellJson.FromJson(json));
        Assert.Null(back[1]);
        Assert.True(Assert.IsType<bool>(back[2]));
        Assert.False(Assert.IsType<bool>(back[3]));
        var obj = Assert.IsType<OrderedDictionary>(back[4]);
        Assert.True(obj.Contains("a"));
        Assert.Null(obj["a"]);
        Assert.False(Assert.IsType<bool>(obj["b"]));
    }

    [Fact]
    public void Unicode_quotes_newlines_and_backslashes_round_trip_through_ascii_only_text()
    {
        var value = Evaluate("$v = [ordered]@{ 'clé 名前' = \"😀 中文 `\"quoted`\" 'single' line1`nline2`r`n\\back\\slash`ttab <&> `u{0}\" }");

        var json = PowerShellJson.ToJson(value);

        Assert.All(json, c => Assert.True(c < 128, $"Unexpected non-ASCII character U+{(int)c:X4} in {json}"));
        var back = Assert.IsType<OrderedDictionary>(PowerShellJson.FromJson(json));
        var entry = Assert.Single(back.Cast<DictionaryEntry>());
        Assert.Equal("clé 名前", entry.Key);
        Assert.Equal("😀 中文 \"quoted\" 'single' line1\nline2\r\n\\back\\slash\ttab <&> \0", entry.Value);
    }

    [Fact]
    public void A_string_with_a_lone_surrogate_is_refused_rather_than_replaced()
    {
        var error = Assert.Throws<JsonConversionException>(() => PowerShellJson.ToJson(Evaluate("$v = @{ Text = \"a$([char]0xD83D)b\" }")));

        Assert.Equal("$.Text", error.Path);
        Assert.Contains("unpaired", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Utc_dates_keep_every_tick_and_their_kind()
    {
        var original = new DateTime(2026, 5, 7, 21, 30, 0, DateTimeKind.Utc).AddTicks(1234567);

        var json = PowerShellJson.ToJson(original);

        Assert.Equal("\"2026-05-07T21:30:00.1234567Z\"", json);
        var back = Assert.IsType<DateTime>(PowerShellJson.FromJson(json));
        Assert.Equal(DateTimeKind.Utc, back.Kind);
        Assert.Equal(original.Ticks, back.Ticks);
    }

    [Fact]
    public void Local_dates_come_back_local_at_the_same_instant()
    {
        var original = (DateTime)Evaluate("$v = [datetime]::new(2026, 5, 7, 21, 30, 0, 5, [DateTimeKind]::Local)")!;

        var json = PowerShellJson.ToJson(original);

        Assert.Matches("""^2026-05-07T21:30:00\.0050000[+-]\d\d:\d\d$""", StoredString(json));
        var back = Assert.IsType<DateTime>(PowerShellJson.FromJson(json));
        Assert.Equal(DateTimeKind.Local, back.Kind);
        Assert.Equal(original.Ticks, back.Ticks);
    }

    [Fact]
    public void Unspecified_dates_stay_unspecified()
    {
        var original = new DateTime(2026, 5, 7, 21, 30, 0, DateTimeKind.Unspecified);

        var json = PowerShellJson.ToJson(original);

        Assert.Equal("\"2026-05-07T21:30:00.0000000\"", json);
        var back = Assert.IsType<DateTime>(PowerShellJson.FromJson(json));
        Assert.Equal(DateTimeKind.Unspecified, back.Kind);
        Assert.Equal(original.Ticks, back.Ticks);
    }

    [Fact]
    public void Date_time_offsets_keep_their_offset()
    {
        var original = (DateTimeOffset)Evaluate("$v = [datetimeoffset]::new(2026, 5, 7, 21, 30, 0, [timespan]::FromHours(5.5)).AddTicks(1234567)")!;

        var json = PowerShellJson.ToJson(original);

        Assert.Equal("""{"$arcp":"datetimeoffset","v":"2026-05-07T21:30:00.1234567\u002B05:30"}""", json);
        var back = Assert.IsType<DateTimeOffset>(PowerShellJson.FromJson(json));
        Assert.Equal(original.Ticks, back.Ticks);
        Assert.Equal(original.Offset, back.Offset);
    }

    [Fact]
    public void A_zoned_date_string_stored_by_an_earlier_version_still_reads_as_a_local_date()
    {
        var back = Assert.IsType<DateTime>(PowerShellJson.FromJson("\"2026-05-07T21:30:00.0000000+05:30\""));

        Assert.Equal(DateTimeKind.Local, back.Kind);
        Assert.Equal(new DateTime(2026, 5, 7, 16, 0, 0, DateTimeKind.Utc), back.ToUniversalTime());
    }

    [Theory]
    [InlineData("2026-05-07")]
    [InlineData("2026-05-07T21:30")]
    [InlineData("2026-05-07 21:30:00Z")]
    [InlineData("2026-05-07T21:30:00.12345678Z")]
    [InlineData("2026-13-07T21:30:00")]
    [InlineData("2026-05-07T21:30:00+0200")]
    [InlineData("2026-05-07T21:30:00Z\n")]
    [InlineData("on 2026-05-07T21:30:00Z")]
    public void Strings_that_are_not_round_trip_dates_stay_plain_strings(string text)
    {
        var json = PowerShellJson.ToJson(text);

        Assert.StartsWith("\"", json, StringComparison.Ordinal);
        Assert.Equal(text, PowerShellJson.FromJson(json));
    }

    [Theory]
    [InlineData("2026-05-07T21:30:00Z")]
    [InlineData("2026-05-07T21:30:00")]
    [InlineData("2026-05-07T21:30:00.1234567+02:00")]
    public void Strings_that_look_like_round_trip_dates_are_tagged_and_stay_strings(string text)
    {
        var json = PowerShellJson.ToJson(text);

        Assert.Equal($"{{\"$arcp\":\"string\",\"v\":\"{text.Replace("+", "\\u002B", StringComparison.Ordinal)}\"}}", json);
        Assert.Equal(text, Assert.IsType<string>(PowerShellJson.FromJson(json)));
    }

    [Theory]
    [InlineData("$v = [timespan]::new(1, 2, 3, 4, 500)", """{"$arcp":"timespan","v":"1.02:03:04.5000000"}""")]
    [InlineData("$v = [guid]'6f1c2b7e-1d2a-4c53-9a0e-0a4b5c6d7e8f'", """{"$arcp":"guid","v":"6f1c2b7e-1d2a-4c53-9a0e-0a4b5c6d7e8f"}""")]
    [InlineData("$v = [uri]'https://example.org/a%20b?q=1'", """{"$arcp":"uri","v":"https://example.org/a%20b?q=1"}""")]
    [InlineData("$v = [uri]::new('../up/there', [UriKind]::Relative)", """{"$arcp":"relativeuri","v":"../up/there"}""")]
    [InlineData("$v = [version]'1.2.3.4'", """{"$arcp":"version","v":"1.2.3.4"}""")]
    [InlineData("$v = [System.IO.FileAttributes]'ReadOnly, Hidden'", """{"$arcp":"enum","type":"System.IO.FileAttributes","v":"ReadOnly, Hidden"}""")]
    [InlineData("$v = [char]'x'", """{"$arcp":"char","v":"x"}""")]
    [InlineData("$v = [byte[]](0, 1, 254, 255)", """{"$arcp":"bytes","v":"AAH\u002B/w=="}""")]
    public void Value_types_json_cannot_tell_apart_are_tagged_and_come_back_equal(string script, string expectedJson)
    {
        var value = Evaluate(script)!;

        var json = PowerShellJson.ToJson(value);

        Assert.Equal(expectedJson, json);
        var back = PowerShellJson.FromJson(json)!;
        Assert.Equal(value.GetType(), back.GetType());
        Assert.Equal(value, back);
    }

    [Fact]
    public void Wrapped_values_are_stored_as_the_value_they_wrap()
    {
        var decorated = Evaluate("$v = 'hello' | Add-Member -NotePropertyName Extra -NotePropertyValue 1 -PassThru");

        Assert.Equal("\"hello\"", PowerShellJson.ToJson(new PSObject("hello")));
        Assert.Equal("\"hello\"", PowerShellJson.ToJson(decorated));
        Assert.Equal("""{"$arcp":"ordered","a":1}""", PowerShellJson.ToJson(new PSObject(new PSObject(new Dictionary<string, int> { ["a"] = 1 }))));
        Assert.Equal("null", PowerShellJson.ToJson(AutomationNull.Value));
        Assert.Equal("null", PowerShellJson.ToJson(null));
    }

    [Fact]
    public void Depth_64_is_stored_whole()
    {
        var value = Evaluate("$v = 'leaf'; foreach ($i in 1..64) { $v = @{ n = $v } }");

        var json = PowerShellJson.ToJson(value);

        Assert.Equal(string.Concat(Enumerable.Repeat("{\"$arcp\":\"hashtable\",\"n\":", 64)) + "\"leaf\"" + new string('}', 64), json);
        object? back = PowerShellJson.FromJson(json);
        for (var i = 0; i < 64; i++)
        {
            back = Assert.IsType<Hashtable>(back)["n"];
        }

        Assert.Equal("leaf", back);
    }

    [Fact]
    public void Depth_65_is_refused_naming_the_path_and_the_limit()
    {
        var value = Evaluate("$v = 'leaf'; foreach ($i in 1..65) { $v = ,$v }");

        var error = Assert.Throws<JsonConversionException>(() => PowerShellJson.ToJson(value));

        var expectedPath = "$" + string.Concat(Enumerable.Repeat("[0]", 64));
        Assert.Equal(expectedPath, error.Path);
        Assert.Contains(expectedPath, error.Message, StringComparison.Ordinal);
        Assert.Contains("64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lower_depth_limit_names_the_container_that_crosses_it()
    {
        var value = Evaluate("$v = [ordered]@{ Title = 't'; Sections = @('a', 'b', [pscustomobject]@{ Citations = @('x') }) }");

        Assert.NotNull(PowerShellJson.ToJsonNode(value, maxDepth: 4));
        var error = Assert.Throws<JsonConversionException>(() => PowerShellJson.ToJsonNode(value, maxDepth: 3));

        Assert.Equal("$.Sections[2].Citations", error.Path);
        Assert.Contains("limit of 3 levels", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("$h = @{}; $h.self = $h; $v = $h", "$.self.self.self")]
    [InlineData("$l = [System.Collections.ArrayList]::new(); [void]$l.Add($l); $v = $l", "$[0][0][0]")]
    [InlineData("$o = [pscustomobject]@{ Next = $null }; $o.Next = $o; $v = $o", "$.Next.Next.Next")]
    public void A_value_that_contains_itself_ends_in_the_depth_error(string script, string expectedPathStart)
    {
        var value = Evaluate(script);

        var error = Assert.Throws<JsonConversionException>(() => PowerShellJson.ToJson(value));

        Assert.StartsWith(expectedPathStart, error.Path, StringComparison.Ordinal);
        Assert.Contains("contains itself", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("$v = @{ Files = @('a', [System.IO.FileInfo]::new('/tmp/report.txt')) }", "System.IO.FileInfo", "$.Files[1]")]
    [InlineData("$v = [ordered]@{ Step = { 'hi' } }", "System.Management.Automation.ScriptBlock", "$.Step")]
    [InlineData("$v = @(Get-Process -Id $PID)", "System.Diagnostics.Process", "$[0]")]
    [InlineData("$v = [xml]'<a><b>hi</b></a>'", "System.Xml.XmlDocument", "$")]
    [InlineData("$v = [pscustomobject]@{ 'odd name' = [System.Text.StringBuilder]::new('x') }", "System.Text.StringBuilder", "$['odd name']")]
    [InlineData("$v = @([System.Collections.Generic.KeyValuePair[string,int]]::new('a', 1))", "System.Collections.Generic.KeyValuePair[System.String,System.Int32]", "$[0]")]
    public void Arbitrary_objects_are_refused_with_their_type_and_path(string script, string expectedType, string expectedPath)
    {
        var error = Assert.Throws<JsonConversionException>(() => PowerShellJson.ToJson(Evaluate(script)));

        Assert.Equal(expectedPath, error.Path);
        Assert.StartsWith($"Step output at {expectedPath} is a {expectedType}, which cannot be stored as JSON.", error.Message, StringComparison.Ordinal);
        Assert.Contains("select the properties you need", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("$v = [System.Collections.Generic.Dictionary[string,int]]::new(); $v['a'] = 1; $v['A'] = 2", "$.A")]
    [InlineData("$v = @{}; $v[1] = 'int'; $v['1'] = 'string'", "$['1']")]
    public void Keys_that_cannot_become_distinct_property_names_are_refused(string script, string expectedPath)
    {
        var error = Assert.Throws<JsonConversionException>(() => PowerShellJson.ToJson(Evaluate(script)));

        Assert.Equal(expectedPath, error.Path);
        Assert.Contains(expectedPath, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{'a':1}")]
    [InlineData("[1,]")]
    [InlineData("nul")]
    [InlineData("{\"a\":1} trailing")]
    public void Malformed_json_is_refused_at_the_root(string json)
    {
        var error = Assert.Throws<JsonConversionException>(() => PowerShellJson.FromJson(json));

        Assert.Equal("$", error.Path);
        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"list":[{"a":1,"a":2}]}""", "$.list[0]")]
    [InlineData("""{"a":1,"A":2}""", "$.A")]
    [InlineData("""{"x":{"":1}}""", "$.x['']")]
    [InlineData("""{"pstypenames":1}""", "$.pstypenames")]
    [InlineData("""{"n":1e400}""", "$.n")]
    public void Stored_json_that_cannot_become_powershell_values_is_refused_with_its_path(string json, string expectedPath)
    {
        var error = Assert.Throws<JsonConversionException>(() => PowerShellJson.FromJson(json));

        Assert.Equal(expectedPath, error.Path);
        Assert.StartsWith($"Stored step output at {expectedPath} ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_refuses_absurd_nesting_instead_of_recursing_without_limit()
    {
        var json = new string('[', 1000) + new string(']', 1000);

        Assert.Throws<JsonConversionException>(() => PowerShellJson.FromJson(json));
    }

    [Fact]
    public void Json_nodes_built_in_memory_read_like_parsed_ones()
    {
        var node = new JsonObject
        {
            ["n"] = 5,
            ["big"] = 5_000_000_000L,
            ["when"] = "2026-05-07T21:30:00Z",
            ["list"] = new JsonArray(1, "two", null),
        };

        var back = Assert.IsType<PSObject>(PowerShellJson.FromJsonNode(node));

        Assert.Equal(5, Assert.IsType<int>(back.Properties["n"].Value));
        Assert.Equal(5_000_000_000L, Assert.IsType<long>(back.Properties["big"].Value));
        Assert.Equal(DateTimeKind.Utc, Assert.IsType<DateTime>(back.Properties["when"].Value).Kind);
        Assert.Equal(new object?[] { 1, "two", null }, Assert.IsType<object[]>(back.Properties["list"].Value));
    }

    [Fact]
    public void To_json_node_gives_the_same_document_that_to_json_writes()
    {
        var node = Assert.IsType<JsonObject>(PowerShellJson.ToJsonNode(Evaluate("$v = [ordered]@{ a = @(1, 'b'); c = 2.5 }")));

        Assert.Equal(2.5, node["c"]!.GetValue<double>());
        Assert.Equal(2, node["a"]!.AsArray().Count);
        Assert.Equal("""{"$arcp":"ordered","a":[1,"b"],"c":2.5}""", node.ToJsonString());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public void Depth_limits_that_could_not_be_read_back_are_rejected(int maxDepth)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PowerShellJson.ToJsonNode(1, maxDepth));
    }

    [Fact]
    public void Stored_output_reads_back_like_ConvertFrom_Json_output_in_a_script()
    {
        const string Json = """{"Title":"t","Items":[{"Name":"first","Score":1.5},{"Name":"second","Score":2}],"Single":[5],"Empty":[],"When":"2026-05-07T21:30:00Z","Flag":true,"Nothing":null}""";
        const string Probe = """
            param($x)
            $x.Items[1].Name
            $x -is [pscustomobject]
            $x.PSObject.BaseObject.GetType().FullName
            $x.Items -is [object[]]
            $x.Items.Count
            $x.Single.Count
            $x.Empty.Count
            $x.Nothing.Count
            $x.Items.Name -join ','
            $x.PSObject.Properties.Name -join ','
            ($x | Get-Member -MemberType NoteProperty).Name -join ','
            ($x | Get-Member)[0].TypeName
            $x.When.Kind
            $x.When.ToUniversalTime().ToString('o')
            $x.Flag -and $true
            ($x.Items | Where-Object Score -gt 1.7).Name
            ($x | ConvertTo-Json -Depth 5 -Compress)
            $x.Title = 'changed'; $x.Title
            """;

        var ours = Invoke(Probe, PowerShellJson.FromJson(Json)).Select(o => o?.ToString()).ToArray();
        var theirs = Invoke(Probe, Invoke("param($j) $j | ConvertFrom-Json", Json).Single()).Select(o => o?.ToString()).ToArray();

        Assert.Equal("second", ours[0]);
        Assert.Equal("True", ours[1]);
        Assert.Equal("System.Management.Automation.PSCustomObject", ours[2]);
        Assert.Equal(theirs, ours);
    }

    [Fact]
    public void A_step_receiving_output_stored_by_an_earlier_version_can_return_it_with_the_same_values()
    {
        const string Json = """{"a":[1,2.5,"x",{"b":null}],"d":"2026-05-07T21:30:00.0000000Z","m":3.1415926535897932384626433833,"e":[],"f":-0.0}""";

        var passedThrough = Invoke("param($x) ,$x", PowerShellJson.FromJson(Json)).Single();

        // Only the decimal gains its tag: the untagged reading of earlier versions already gave it back as a decimal.
        Assert.Equal(
            """{"a":[1,2.5,"x",{"b":null}],"d":"2026-05-07T21:30:00.0000000Z","m":{"$arcp":"decimal","v":"3.1415926535897932384626433833"},"e":[],"f":-0.0}""",
            PowerShellJson.ToJson(passedThrough));
    }

    private static object? Evaluate(string script)
    {
        using var ps = Pwsh.Create();
        ps.AddScript(script).Invoke();
        ThrowOnErrors(ps);
        return ps.Runspace.SessionStateProxy.GetVariable("v");
    }

    private static Collection<PSObject> Invoke(string script, object? argument)
    {
        using var ps = Pwsh.Create();
        var results = ps.AddScript(script).AddArgument(argument).Invoke();
        ThrowOnErrors(ps);
        return results;
    }

    private static void ThrowOnErrors(Pwsh ps)
    {
        if (ps.HadErrors)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, ps.Streams.Error));
        }
    }

    // The default encoder escapes '+' and non-ASCII, so compare the decoded text rather than the raw JSON.
    private static string StoredString(string json) => JsonNode.Parse(json)!.GetValue<string>();

    private static string[] PropertyNames(PSObject value) => value.Properties.Select(p => p.Name).ToArray();
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Arcp.Resumability.Protocol;
using Arcp.Resumability.Steps;

namespace Arcp.Resumability.Tests.Core;

public sealed class ProtocolTests
{
    private const string Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    // ---- ArcpId -------------------------------------------------------------------------------

    [Theory]
    [InlineData(ArcpId.MessagePrefix)]
    [InlineData(ArcpId.SessionPrefix)]
    [InlineData(ArcpId.JobPrefix)]
    [InlineData(ArcpId.CheckpointPrefix)]
    public void New_ids_are_their_prefix_and_a_26_character_Crockford_ulid(string prefix)
    {
        var id = prefix switch
        {
            ArcpId.MessagePrefix => ArcpId.NewMessageId(),
            ArcpId.SessionPrefix => ArcpId.NewSessionId(),
            ArcpId.JobPrefix => ArcpId.NewJobId(),
            _ => ArcpId.NewCheckpointId(),
        };

        Assert.StartsWith(prefix, id, StringComparison.Ordinal);
        var ulid = id[prefix.Length..];
        Assert.Equal(26, ulid.Length);
        Assert.All(ulid, c => Assert.Contains(c, Crockford));
        Assert.True(ArcpId.IsValid(id, prefix));
    }

    [Fact]
    public void The_ulid_time_part_is_the_creation_time_in_unix_milliseconds()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ulid = ArcpId.NewUlid();
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // The first 10 digits carry the 48-bit timestamp, most significant first.
        long time = 0;
        foreach (var c in ulid[..10])
        {
            time = (time << 5) | (uint)Crockford.IndexOf(c, StringComparison.Ordinal);
        }

        Assert.InRange(time, before, after);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("msg_")]
    [InlineData("job_01JABCDEFGHJKMNPQRSTVWXYZ0")] // wrong prefix
    [InlineData("MSG_01JABCDEFGHJKMNPQRSTVWXYZ0")] // prefix is case-sensitive
    [InlineData("msg_01JABCDEFGHJKMNPQRSTVWXYZ")] // 25 characters
    [InlineData("msg_01JABCDEFGHJKMNPQRSTVWXYZ01")] // 27 characters
    [InlineData("msg_01JABCDEFGHJKMNPQRSTVWXYI0")] // I is not Crockford
    [InlineData("msg_01JABCDEFGHJKMNPQRSTVWXYL0")] // L is not Crockford
    [InlineData("msg_01JABCDEFGHJKMNPQRSTVWXYO0")] // O is not Crockford
    [InlineData("msg_01JABCDEFGHJKMNPQRSTVWXYU0")] // U is not Crockford
    [InlineData("msg_01jabcdefghjkmnpqrstvwxyz0")] // we only ever write upper case
    [InlineData("msg_81JABCDEFGHJKMNPQRSTVWXYZ0")] // first digit above 7 overflows 128 bits
    [InlineData("msg_01JABCDEFGHJKMNPQRSTVWX-Z0")]
    public void IsValid_rejects_malformed_ids(string? id)
    {
        Assert.False(ArcpId.IsValid(id, ArcpId.MessagePrefix));
    }

    [Fact]
    public void IsValid_accepts_the_largest_ulid()
    {
        Assert.True(ArcpId.IsValid("msg_7ZZZZZZZZZZZZZZZZZZZZZZZZZ", ArcpId.MessagePrefix));
    }

    // ---- EnvelopeCodec ------------------------------------------------------------------------

    [Fact]
    public void An_envelope_with_every_field_survives_serialize_and_parse()
    {
        var original = Envelope.Create(MessageTypes.JobProgress, new JobProgressPayload(40, "gather done") { Step = "gather", StepIndex = 1, StepCount = 5 }, "sess_1", "job_2", "msg_3") with
        {
            Source = "client",
            Target = "runtime",
            StreamId = "str_1",
            SubscriptionId = "sub_1",
            TraceId = "trace_1",
            SpanId = "span_1",
            ParentSpanId = "span_0",
            CausationId = "msg_0",
            IdempotencyKey = "key-1",
            Priority = "high",
            Extensions = new JsonObject { ["optional"] = true, ["arcpx.example.v1"] = new JsonObject { ["n"] = 1 } },
        };

        var text = EnvelopeCodec.Serialize(original);
        var parsed = EnvelopeCodec.Parse(text);

        Assert.Equal(text, EnvelopeCodec.Serialize(parsed));
        Assert.Equal(Envelope.ProtocolVersion, parsed.Arcp);
        Assert.Equal(original.Id, parsed.Id);
        Assert.Equal(original.Timestamp, parsed.Timestamp);
        Assert.Equal(("sess_1", "job_2", "msg_3"), (parsed.SessionId, parsed.JobId, parsed.CorrelationId));
        Assert.Equal(("client", "runtime", "str_1", "sub_1"), (parsed.Source, parsed.Target, parsed.StreamId, parsed.SubscriptionId));
        Assert.Equal(("trace_1", "span_1", "span_0", "msg_0"), (parsed.TraceId, parsed.SpanId, parsed.ParentSpanId, parsed.CausationId));
        Assert.Equal(("key-1", "high"), (parsed.IdempotencyKey, parsed.Priority));
        Assert.True(parsed.IsMarkedOptional);
        var payload = parsed.PayloadAs<JobProgressPayload>();
        Assert.Equal((40d, "gather done", "gather", 1, 5), (payload.Percent, payload.Message, payload.Step, payload.StepIndex!.Value, payload.StepCount!.Value));
        Assert.Contains("\"step_index\":1", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_top_level_fields_are_ignored()
    {
        var parsed = EnvelopeCodec.Parse(Frame(("x_future", "{\"a\":[1,2]}"), ("another", "42")));

        Assert.Equal("msg_1", parsed.Id);
        Assert.Equal("ping", parsed.Type);
        Assert.DoesNotContain("x_future", EnvelopeCodec.Serialize(parsed), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1L, 0)]
    [InlineData(638_000_000_001_234_567L, 0)]
    [InlineData(638_000_000_009_999_999L, 330)]
    [InlineData(3_155_378_975_999_999_999L, -480)]
    public void Timestamps_are_written_in_the_fixed_width_utc_patterns_whatever_the_offset(long ticks, int offsetMinutes)
    {
        var time = new DateTimeOffset(ticks, TimeSpan.Zero).ToOffset(TimeSpan.FromMinutes(offsetMinutes));

        Assert.Equal(time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture), ArcpJson.FormatTimestamp(time));
        Assert.Equal(time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture), Arcp.Resumability.Store.Sqlite.SqliteValues.Time(time));
    }

    [Theory]
    [InlineData("""{"k":1,"k":2}""", "k")]
    [InlineData("""{"k":1,"\u006b":2}""", "k")] // the same key, once escaped
    [InlineData("""{"a0":0,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":9,"b0":0,"b1":1,"b2":2,"b3":3,"b4":4,"b5":5,"b6":6,"b7":7,"b8":8,"b9":9,"a3":33}""", "a3")]
    [InlineData("""[{"x":1},{"y":{"z":1,"z":2}}]""", "z")]
    public void A_payload_repeating_a_key_in_one_object_is_refused_however_the_object_is_shaped(string payloadJson, string key)
    {
        var frame = """{"arcp":"1.0","id":"msg_dup","type":"ping","timestamp":"2026-01-01T00:00:00Z","payload":{"data":""" + payloadJson + "}}";

        var ex = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse(frame));

        Assert.Contains($"repeats the key '{key}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_parsed_payload_and_its_extensions_stay_intact_when_later_frames_reuse_the_pooled_buffers()
    {
        // Large enough for the pooled UTF-8 buffer and document tables to be the ones later frames of this size rent.
        var text = new string('a', 300_000);
        var first = EnvelopeCodec.Parse(Frame(("payload", $$"""{"text":"{{text}}","n":1}"""), ("extensions", """{"optional":true}""")));

        for (var i = 0; i < 8; i++)
        {
            EnvelopeCodec.Parse(Frame(("payload", $$"""{"text":"{{new string('b', 300_000)}}","n":{{i + 2}}}"""), ("extensions", """{"optional":false}""")));
        }

        Assert.Equal(text, first.Payload.GetProperty("text").GetString());
        Assert.Equal(1, first.Payload.GetProperty("n").GetInt32());
        Assert.True(first.IsMarkedOptional);
    }

    [Fact]
    public void The_same_keys_in_sibling_objects_are_not_repeats()
    {
        var frame = """{"arcp":"1.0","id":"msg_ok","type":"ping","timestamp":"2026-01-01T00:00:00Z","payload":{"a":{"k":1,"j":2},"b":{"k":1,"j":2},"c":[{"k":1},{"k":2}]}}""";

        Assert.Equal(2, EnvelopeCodec.Parse(frame).Payload.GetProperty("c")[1].GetProperty("k").GetInt32());
    }

    [Theory]
    [InlineData("arcp")]
    [InlineData("type")]
    [InlineData("timestamp")]
    [InlineData("payload")]
    public void A_missing_required_field_is_refused_naming_the_message_id(string field)
    {
        var ex = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse(Frame((field, null))));

        Assert.Equal("msg_1", ex.MessageId);
        Assert.Contains($"'{field}'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("arcp", "1.0")]
    [InlineData("type", "7")]
    [InlineData("type", "\"\"")]
    [InlineData("timestamp", "1778189400")]
    [InlineData("payload", "[]")]
    [InlineData("payload", "\"text\"")]
    [InlineData("payload", "null")]
    [InlineData("session_id", "5")]
    [InlineData("job_id", "{}")]
    [InlineData("correlation_id", "true")]
    [InlineData("idempotency_key", "[\"k\"]")]
    [InlineData("extensions", "[]")]
    [InlineData("extensions", "\"optional\"")]
    public void A_field_of_the_wrong_type_is_refused_naming_the_message_id(string field, string json)
    {
        var ex = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse(Frame((field, json))));

        Assert.Equal("msg_1", ex.MessageId);
        Assert.Contains($"'{field}'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("\"\"")]
    [InlineData("\"   \"")]
    [InlineData("17")]
    [InlineData("{\"id\":\"msg_1\"}")]
    public void A_missing_or_non_string_id_is_refused_without_an_id(string? json)
    {
        var ex = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse(Frame(("id", json))));

        Assert.Null(ex.MessageId);
        Assert.Contains("'id'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"id\":\"msg_1\",")]
    [InlineData("[1,2,3]")]
    [InlineData("\"msg_1\"")]
    [InlineData("null")]
    public void Text_that_is_not_a_json_object_is_refused_without_an_id(string frame)
    {
        var ex = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse(frame));

        Assert.Null(ex.MessageId);
    }

    [Theory]
    [InlineData("2026-05-07 21:30:00Z")] // space instead of T
    [InlineData("2026-05-07T21:30:00")] // no zone
    [InlineData("2026-05-07")]
    [InlineData("07/05/2026 21:30:00 +00:00")]
    [InlineData("2026-05-07T21:30:00+0000")] // zone without colon
    [InlineData("2026-13-07T21:30:00Z")] // month 13
    [InlineData("yesterday at noon, UTC time")]
    public void A_timestamp_that_is_not_rfc_3339_is_refused(string timestamp)
    {
        var ex = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse(Frame(("timestamp", $"\"{timestamp}\""))));

        Assert.Equal("msg_1", ex.MessageId);
        Assert.Contains("RFC 3339", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2026-05-07T21:30:00Z")]
    [InlineData("2026-05-07t21:30:00.123z")]
    [InlineData("2026-05-07T23:30:00.5+02:00")]
    [InlineData("2026-05-07T16:30:00-05:00")]
    public void Rfc_3339_timestamps_are_accepted(string timestamp)
    {
        Assert.Equal(timestamp, EnvelopeCodec.Parse(Frame(("timestamp", $"\"{timestamp}\""))).Timestamp);
    }

    [Theory]
    [InlineData("2.0")]
    [InlineData("0.9")]
    [InlineData("10")]
    public void An_unsupported_protocol_version_is_refused(string version)
    {
        var ex = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse(Frame(("arcp", $"\"{version}\""))));

        Assert.Equal("msg_1", ex.MessageId);
        Assert.Contains($"'{version}'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("low")]
    [InlineData("normal")]
    [InlineData("high")]
    [InlineData("critical")]
    public void The_four_priorities_are_accepted(string priority)
    {
        Assert.Equal(priority, EnvelopeCodec.Parse(Frame(("priority", $"\"{priority}\""))).Priority);
    }

    [Theory]
    [InlineData("\"urgent\"")]
    [InlineData("\"High\"")]
    [InlineData("\"\"")]
    [InlineData("3")]
    [InlineData("{\"level\":\"high\"}")]
    [InlineData("[\"high\"]")]
    public void Any_other_priority_is_refused(string json)
    {
        var ex = Assert.Throws<EnvelopeFormatException>(() => EnvelopeCodec.Parse(Frame(("priority", json))));

        Assert.Equal("msg_1", ex.MessageId);
        Assert.Contains("'priority'", ex.Message, StringComparison.Ordinal);
    }

    // ---- ErrorCodes ---------------------------------------------------------------------------

    [Theory]
    [InlineData(ErrorCodes.ResourceExhausted, true)]
    [InlineData(ErrorCodes.RateLimited, true)] // §18.2: an alias of RESOURCE_EXHAUSTED
    [InlineData(ErrorCodes.Unavailable, true)]
    [InlineData(ErrorCodes.DeadlineExceeded, true)]
    [InlineData(ErrorCodes.Internal, true)]
    [InlineData(ErrorCodes.Aborted, true)]
    [InlineData(ErrorCodes.InvalidArgument, false)]
    [InlineData(ErrorCodes.NotFound, false)]
    [InlineData(ErrorCodes.AlreadyExists, false)]
    [InlineData(ErrorCodes.PermissionDenied, false)]
    [InlineData(ErrorCodes.FailedPrecondition, false)]
    [InlineData(ErrorCodes.Unimplemented, false)]
    [InlineData(ErrorCodes.Unauthenticated, false)]
    [InlineData(ErrorCodes.DataLoss, false)]
    [InlineData(ErrorCodes.Unknown, false)]
    [InlineData(ErrorCodes.Cancelled, false)]
    [InlineData("arcpx.acme.QUOTA_EXCEEDED", false)]
    public void Retryability_defaults_follow_section_18_3(string code, bool retryable)
    {
        Assert.Equal(retryable, ErrorCodes.IsRetryableByDefault(code));
        Assert.Equal(retryable, ArcpError.Create(code, "m").Retryable);
        Assert.Equal(retryable, new ArcpError(code, "m").IsRetryable);
    }

    [Fact]
    public void A_stated_retryable_flag_overrides_the_default()
    {
        Assert.False(new ArcpError(ErrorCodes.Unavailable, "m") { Retryable = false }.IsRetryable);
        Assert.True(new ArcpError(ErrorCodes.NotFound, "m") { Retryable = true }.IsRetryable);
        Assert.False(new NackPayload("msg_1", ErrorCodes.Aborted, "m") { Retryable = false }.ToError().IsRetryable);
        Assert.True(new NackPayload("msg_1", ErrorCodes.Aborted, "m").ToError().IsRetryable);
    }

    // ---- StepKeys -----------------------------------------------------------------------------

    [Theory]
    [InlineData("research", "job_01JABCDEFGHJKMNPQRSTVWXYZ0", "plan", "\"How do checkpoints work?\"")]
    [InlineData("inline", "job_01JABCDEFGHJKMNPQRSTVWXYZ1", "größe-步骤", "{\"a\":[1,2,{\"b\":null}]}")]
    [InlineData("w", "job_1", "s", "null")]
    public void Step_keys_are_workflow_job_step_and_16_hex_of_sha256_over_zero_terminated_parts(string workflow, string jobId, string step, string input)
    {
        var bytes = new List<byte>();
        foreach (var part in new[] { jobId, step, input })
        {
            bytes.AddRange(Encoding.UTF8.GetBytes(part));
            bytes.Add(0);
        }

        var expected = $"{workflow}:{jobId}:{step}:{Convert.ToHexStringLower(SHA256.HashData(bytes.ToArray()))[..16]}";

        Assert.Equal(expected, StepKeys.For(workflow, jobId, step, input));
    }

    [Fact]
    public void Step_keys_differ_when_the_parts_merely_run_together_differently()
    {
        // Without the zero separators ("ab" + "c") and ("a" + "bc") would hash alike.
        var first = StepKeys.For("w", "job_1", "ab", "c");
        var second = StepKeys.For("w", "job_1", "a", "bc");

        Assert.NotEqual(first[^16..], second[^16..]);
    }

    /// <summary>A valid ping frame with some fields replaced (raw JSON) or removed (null).</summary>
    private static string Frame(params (string Name, string? Json)[] changes)
    {
        var fields = new List<(string Name, string Json)>
        {
            ("arcp", "\"1.0\""),
            ("id", "\"msg_1\""),
            ("type", "\"ping\""),
            ("timestamp", "\"2026-05-07T21:30:00Z\""),
            ("payload", "{}"),
        };
        foreach (var (name, json) in changes)
        {
            var index = fields.FindIndex(f => f.Name == name);
            if (index >= 0)
            {
                fields.RemoveAt(index);
            }

            if (json is not null)
            {
                fields.Add((name, json));
            }
        }

        return "{" + string.Join(",", fields.Select(f => $"\"{f.Name}\":{f.Json}")) + "}";
    }
}

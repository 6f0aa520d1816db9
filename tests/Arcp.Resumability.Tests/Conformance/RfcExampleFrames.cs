using System.Text.Json.Nodes;

namespace Arcp.Resumability.Tests.Conformance;

/// <summary>
/// Frames exactly as RFC 0001 revision 2 prints them (shared/reference/arcp-rfc-0001-v2.md), section by section.
/// Several are abbreviated in the RFC (no <c>arcp</c>, <c>id</c> or <c>timestamp</c>, which §6.1.1 requires);
/// <see cref="Completed"/> adds only those, so every other byte a test sends is the RFC's own.
/// </summary>
internal static class RfcExampleFrames
{
    /// <summary>§6.1, the canonical envelope (complete as printed).</summary>
    public const string Envelope = """
        {
          "arcp": "1.0",
          "id": "msg_01JABC",
          "type": "job.progress",
          "session_id": "sess_123",
          "job_id": "job_456",
          "trace_id": "trace_789",
          "timestamp": "2026-05-07T21:30:00Z",
          "idempotency_key": "refund-ord_4812",
          "priority": "normal",
          "payload": {}
        }
        """;

    /// <summary>§10.1, progress.</summary>
    public const string Progress = """
        {
          "type": "job.progress",
          "payload": {
            "percent": 42,
            "message": "Embedding documents"
          }
        }
        """;

    /// <summary>§10.3, a heartbeat.</summary>
    public const string Heartbeat = """
        {
          "type": "job.heartbeat",
          "job_id": "job_456",
          "payload": {
            "sequence": 17,
            "deadline_ms": 60000,
            "state": "running"
          }
        }
        """;

    /// <summary>§10.4, cancellation.</summary>
    public const string Cancel = """
        {
          "type": "cancel",
          "payload": {
            "target": "job",
            "target_id": "job_456",
            "reason": "user_aborted",
            "deadline_ms": 5000
          }
        }
        """;

    /// <summary>§19, resume.</summary>
    public const string Resume = """
        {
          "type": "resume",
          "session_id": "sess_123",
          "job_id": "job_456",
          "payload": {
            "after_message_id": "msg_01JABC",
            "checkpoint_id": "chk_007",
            "include_open_streams": true
          }
        }
        """;

    /// <summary>§24, the handshake of the example invocation (the token is the RFC's "...").</summary>
    public const string SessionOpen = """
        {
          "type": "session.open",
          "id": "msg_001",
          "timestamp": "2026-05-09T13:00:00Z",
          "payload": {
            "auth": { "scheme": "bearer", "token": "..." },
            "client": {
              "kind": "example-client",
              "version": "1.4.2",
              "fingerprint": "sha256:..."
            },
            "capabilities": {
              "streaming": true,
              "human_input": true,
              "artifacts": true
            }
          }
        }
        """;

    /// <summary>§24, the tool invocation.</summary>
    public const string ToolInvoke = """
        {
          "type": "tool.invoke",
          "id": "msg_010",
          "session_id": "sess_123",
          "trace_id": "trace_789",
          "idempotency_key": "search-ts-files-2026-05-09",
          "payload": {
            "tool": "filesystem.search",
            "arguments": { "query": "*.ts" }
          }
        }
        """;

    /// <summary>The frame as printed, with only the envelope fields §6.1.1 requires and the RFC elides added.</summary>
    public static JsonObject Completed(string frame, string? id = null)
    {
        var envelope = JsonNode.Parse(frame)!.AsObject();
        envelope["arcp"] ??= "1.0";
        envelope["id"] ??= id ?? $"msg_rfc_{Guid.NewGuid():N}";
        envelope["timestamp"] ??= "2026-05-09T13:00:00Z";
        return envelope;
    }

    /// <summary>One line of newline-delimited JSON, every value as printed.</summary>
    public static string Verbatim(string frame) => JsonNode.Parse(frame)!.ToJsonString();
}

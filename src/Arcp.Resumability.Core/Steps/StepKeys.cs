using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Steps;

/// <summary>Deterministic per-step idempotency keys, so a re-issued step finds its recorded outcome.</summary>
public static class StepKeys
{
    /// <summary>
    /// <c>&lt;workflow&gt;:&lt;job_id&gt;:&lt;step&gt;:</c> plus the first 16 hex digits of SHA-256 over the job id,
    /// the step name and the canonical JSON of the step's input, each followed by a zero byte.
    /// </summary>
    public static string For(string workflow, string jobId, string step, string inputJson) =>
        $"{workflow}:{jobId}:{step}:{ArcpJson.Sha256Hex(jobId, step, inputJson)[..16]}";
}

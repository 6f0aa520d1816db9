using System.Text.Json.Nodes;
using Arcp.Resumability.Client;
using Arcp.Resumability.Protocol;

namespace Arcp.Resumability.Steps;

/// <summary>
/// Lets a running step talk back. Everything it reports is an owner-emitted event in the job's stream,
/// persisted (and replayed on resume) like the runner's own progress and checkpoints:
/// <list type="bullet">
/// <item>progress within the step: a <c>job.progress</c> whose percent is the job's, with <c>step_percent</c> the step's;</item>
/// <item>logs: §17.2 <c>log</c> events, attributed to the step;</item>
/// <item>
/// thoughts: §11.4 reasoning, as one <c>stream.open</c> of <c>kind: thought</c> per run (opened by the first
/// thought) and one <c>stream.chunk</c> <c>{role: assistant_thought, content, redacted: false}</c> per thought; the
/// runner closes the stream before the job's terminal event. A run that crashes leaves it open, as §11 allows.
/// </item>
/// </list>
/// </summary>
public sealed class StepReporter
{
    private readonly ArcpClient client;
    private readonly StepContext step;
    private readonly ThoughtStream thoughts;

    internal StepReporter(ArcpClient client, StepContext step, ThoughtStream thoughts)
    {
        this.client = client;
        this.step = step;
        this.thoughts = thoughts;
    }

    /// <summary>Reports how far the step is (0–100) with a message.</summary>
    public async Task ProgressAsync(double percent, string message, CancellationToken cancellationToken)
    {
        if (percent is < 0 or > 100 || double.IsNaN(percent))
        {
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "A step's progress is a percentage from 0 to 100.");
        }

        var jobPercent = Math.Round((step.StepIndex + (percent / 100)) * 100 / step.StepCount, 2);
        var payload = new JobProgressPayload(jobPercent, message ?? string.Empty)
        {
            Step = step.Step,
            StepIndex = step.StepIndex,
            StepCount = step.StepCount,
            StepPercent = Math.Round(percent, 2),
        };
        await client.EmitAsync(MessageTypes.JobProgress, step.JobId, payload, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records a §17.2 log line; <paramref name="level"/> is trace, debug, info, warn, error or critical.</summary>
    public async Task LogAsync(string level, string message, JsonObject? attributes, CancellationToken cancellationToken)
    {
        var normalized = level?.ToLowerInvariant() switch
        {
            "warning" => LogLevels.Warn,
            "information" => LogLevels.Info,
            "verbose" => LogLevels.Debug,
            var other => other,
        };
        if (!LogLevels.IsValid(normalized))
        {
            throw new ArgumentException($"'{level}' is not a log level; use trace, debug, info, warn, error or critical.", nameof(level));
        }

        var merged = attributes?.DeepClone().AsObject() ?? [];
        merged["step"] = step.Step;
        merged["step_index"] = step.StepIndex;
        await client.EmitAsync(MessageTypes.Log, step.JobId, new LogPayload(normalized!, message ?? string.Empty) { Attributes = merged }, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records a thought: a chunk on the run's thought stream.</summary>
    public Task ThoughtAsync(string text, CancellationToken cancellationToken) => thoughts.WriteAsync(text ?? string.Empty, cancellationToken);
}

/// <summary>The run's §11.4 thought stream, opened lazily so runs without thoughts emit no stream at all.</summary>
internal sealed class ThoughtStream(ArcpClient client, string jobId)
{
    private string? streamId;

    public async Task WriteAsync(string text, CancellationToken cancellationToken)
    {
        if (streamId is null)
        {
            var id = "str_" + ArcpId.NewUlid();
            await client.EmitOnStreamAsync(MessageTypes.StreamOpen, jobId, id, new StreamOpenPayload("thought") { ContentType = "text/plain", Encoding = "utf-8" }, cancellationToken).ConfigureAwait(false);
            streamId = id;
        }

        await client.EmitOnStreamAsync(MessageTypes.StreamChunk, jobId, streamId, new ThoughtChunkPayload("assistant_thought", text, Redacted: false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the stream if a thought opened it; must come before the job's terminal event.</summary>
    public async Task CloseAsync(string reason, CancellationToken cancellationToken)
    {
        if (streamId is { } id)
        {
            streamId = null;
            await client.EmitOnStreamAsync(MessageTypes.StreamClose, jobId, id, new StreamClosePayload { Reason = reason }, cancellationToken).ConfigureAwait(false);
        }
    }
}

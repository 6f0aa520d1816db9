namespace Arcp.Resumability.Client;

/// <summary>
/// How the client answers a runtime that refuses a request as too fast (RESOURCE_EXHAUSTED or RATE_LIMITED with
/// <c>details.retry_after_ms</c>): it waits that long and sends the same envelope again, within these bounds.
/// </summary>
public sealed record ThrottleRetryOptions
{
    /// <summary>Resends of one request at most; several clients of one principal can each be refused again after a wait.</summary>
    public int MaxRetries { get; init; } = 30;

    /// <summary>The most one request waits in total; a refusal asking for more than is left surfaces at once.</summary>
    public TimeSpan MaxTotalWait { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that cannot work.</summary>
    public void Validate()
    {
        if (MaxRetries < 1)
        {
            throw new ArgumentException($"MaxRetries must be at least 1, not {MaxRetries}.", nameof(MaxRetries));
        }

        if (MaxTotalWait <= TimeSpan.Zero)
        {
            throw new ArgumentException($"MaxTotalWait must be positive ({MaxTotalWait}).", nameof(MaxTotalWait));
        }
    }
}

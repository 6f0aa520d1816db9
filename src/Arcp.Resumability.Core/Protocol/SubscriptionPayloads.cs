namespace Arcp.Resumability.Protocol;

/// <summary>§13.1 <c>subscribe</c>.</summary>
public sealed record SubscribePayload
{
    public SubscriptionFilter? Filter { get; init; }

    /// <summary>Present to ask for a backfill (§13.3); empty means from the beginning of the principal's job streams.</summary>
    public SinceCursor? Since { get; init; }
}

/// <summary>§13.2: fields are AND-ed, values within a field OR-ed; absent fields match everything.</summary>
public sealed record SubscriptionFilter
{
    public IReadOnlyList<string>? SessionId { get; init; }

    public IReadOnlyList<string>? JobId { get; init; }

    public IReadOnlyList<string>? TraceId { get; init; }

    public IReadOnlyList<string>? StreamId { get; init; }

    public IReadOnlyList<string>? Types { get; init; }

    public string? MinPriority { get; init; }
}

public sealed record SinceCursor
{
    public string? AfterMessageId { get; init; }
}

public sealed record SubscribeAcceptedPayload(string SubscriptionId);

public sealed record UnsubscribePayload
{
    public string? SubscriptionId { get; init; }
}

namespace Stele.Server.Alerts;

/// <summary>The fields of a committed event that rules look at, read from its leaf (the stored truth).</summary>
internal sealed record EvaluatedEvent(
    long Seq,
    string Id,
    string ActorId,
    string Action,
    string? TenantId,
    string? IpCountry,
    DateTimeOffset ReceivedAt,
    DateTimeOffset OccurredAt)
{
    /// <summary>The received time in microseconds since the Unix epoch: the clock sliding windows and buckets use.</summary>
    public long ReceivedMicros => (ReceivedAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
}

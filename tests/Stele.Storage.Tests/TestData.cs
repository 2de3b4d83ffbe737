using System.Security.Cryptography;
using System.Text;

namespace Stele.Storage.Tests;

/// <summary>Builds stored events for the suite. Leaf and payload are arbitrary bytes: storage does not interpret them.</summary>
internal static class TestData
{
    public static readonly DateTimeOffset Now = new(2026, 11, 5, 10, 30, 0, TimeSpan.Zero);

    public static StoredEvent Event(
        long seq,
        string action = "user.login",
        string actor = "alice",
        string? resource = null,
        string? resourceId = null,
        string? tenant = null,
        string? session = null,
        string? country = null,
        string outcome = "success",
        string? idempotencyKey = null,
        long? occurredAt = null,
        string? search = null,
        IReadOnlyList<StoredTarget>? targets = null,
        bool payload = true,
        string idPrefix = "ev") => new()
        {
            Seq = seq,
            Id = $"{idPrefix}-{seq:D6}-{Guid.NewGuid():N}",
            ReceivedAtMicros = 1_000_000 + seq,
            OccurredAtMicros = occurredAt ?? 2_000_000 + (seq * 10),
            ActorId = actor,
            Action = action,
            Resource = resource,
            ResourceId = resourceId,
            TenantId = tenant,
            SessionId = session,
            IpCountry = country,
            Outcome = outcome,
            IdempotencyKey = idempotencyKey,
            Leaf = Encoding.UTF8.GetBytes($"leaf {seq} {action}"),
            LeafHash = Hash("leaf", seq),
            ChainHash = Hash("chain", seq),
            Payload = payload ? Encoding.UTF8.GetBytes($"payload {seq}") : null,
            Targets = targets ?? [],
            SearchText = search,
        };

    public static byte[] Hash(string kind, long value) => SHA256.HashData(Encoding.UTF8.GetBytes($"{kind}:{value}"));

    /// <summary>Events with consecutive seqs from <paramref name="start"/>, built by <paramref name="build"/>.</summary>
    public static List<StoredEvent> Events(long start, int count, Func<long, StoredEvent>? build = null) =>
        Enumerable.Range(0, count).Select(i => (build ?? (s => Event(s)))(start + i)).ToList();
}

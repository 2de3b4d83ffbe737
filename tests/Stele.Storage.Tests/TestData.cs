using System.Security.Cryptography;
using System.Text;

namespace Stele.Storage.Tests;

/// <summary>An event as the suite writes it: the durable row and the query index entry describing it.</summary>
internal sealed record TestEvent(StoredEvent Stored, EventIndexEntry Index)
{
    public long Seq => Stored.Seq;

    public string Id => Stored.Id;
}

/// <summary>Builds stored events for the suite. Leaf and payload are arbitrary bytes: storage does not interpret them.</summary>
internal static class TestData
{
    public static readonly DateTimeOffset Now = new(2026, 11, 5, 10, 30, 0, TimeSpan.Zero);

    public static TestEvent Event(
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
        string idPrefix = "ev")
    {
        var id = $"{idPrefix}-{seq:D6}-{Guid.NewGuid():N}";
        return new TestEvent(
            new StoredEvent
            {
                Seq = seq,
                Id = id,
                ReceivedAtMicros = 1_000_000 + seq,
                IdempotencyKey = idempotencyKey,
                Leaf = Encoding.UTF8.GetBytes($"leaf {seq} {action}"),
                LeafHash = Hash("leaf", seq),
                ChainHash = Hash("chain", seq),
                Payload = payload ? Encoding.UTF8.GetBytes($"payload {seq}") : null,
            },
            new EventIndexEntry
            {
                Seq = seq,
                Id = id,
                OccurredAtMicros = occurredAt ?? 2_000_000 + (seq * 10),
                ActorId = actor,
                Action = action,
                Resource = resource,
                ResourceId = resourceId,
                TenantId = tenant,
                SessionId = session,
                IpCountry = country,
                Outcome = outcome,
                Targets = targets ?? [],
                SearchText = search,
            });
    }

    public static byte[] Hash(string kind, long value) => SHA256.HashData(Encoding.UTF8.GetBytes($"{kind}:{value}"));

    /// <summary>Events with consecutive seqs from <paramref name="start"/>, built by <paramref name="build"/>.</summary>
    public static List<TestEvent> Events(long start, int count, Func<long, TestEvent>? build = null) =>
        Enumerable.Range(0, count).Select(i => (build ?? (s => Event(s)))(start + i)).ToList();

    /// <summary>The durable rows of <paramref name="events"/>.</summary>
    public static List<StoredEvent> Rows(IEnumerable<TestEvent> events) => events.Select(e => e.Stored).ToList();

    /// <summary>Appends the events and, if they committed, indexes them (the ledger's indexes are expected to be caught up).</summary>
    public static async Task<AppendStatus> AppendIndexedAsync(
        this ISteleStore store, long ledgerId, long expectedSize, IReadOnlyList<TestEvent> events, IReadOnlyList<StoredTreeNode> nodes)
    {
        var status = await store.AppendAsync(ledgerId, expectedSize, Rows(events), nodes, CancellationToken.None);
        if (status == AppendStatus.Committed && events.Count > 0)
        {
            Assert.Equal(IndexStatus.Indexed, await store.IndexAsync(ledgerId, expectedSize, events.Select(e => e.Index).ToList(), CancellationToken.None));
            await store.IndexAllSearchAsync(ledgerId);
        }

        return status;
    }

    /// <summary>Runs the search stage until the search index covers everything the other indexes do.</summary>
    public static async Task IndexAllSearchAsync(this ISteleStore store, long ledgerId)
    {
        while (await store.IndexSearchAsync(ledgerId, 1000, TimeSpan.FromSeconds(10), CancellationToken.None) > 0)
        {
        }

        Assert.Equal(await store.GetIndexedSizeAsync(ledgerId, CancellationToken.None), await store.GetSearchIndexedSizeAsync(ledgerId, CancellationToken.None));
    }
}

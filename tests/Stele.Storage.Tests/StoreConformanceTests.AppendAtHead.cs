using System.Security.Cryptography;
using static Stele.Storage.Tests.TestData;

namespace Stele.Storage.Tests;

/// <summary>
/// <see cref="ISteleStore.AppendAtHeadAsync"/>, the append the sequencer uses: the store reads the
/// committed head (under the ledger's lock where the backend has one) and writes what the caller
/// builds for exactly that head.
/// </summary>
public abstract partial class StoreConformanceTests
{
    private static readonly byte[] Genesis = Hash("genesis", 0);

    [StoreFact]
    public async Task Append_at_head_passes_the_committed_head_and_writes_the_batch_built_for_it()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var first = Linked(Genesis, 0, 3, "first");
        Assert.Equal(AppendStatus.Committed, await store.AppendAsync(ledger!.Id, 0, first, [], None));

        var seen = new List<LedgerHead>();
        List<StoredEvent> appended = [];
        StoredTreeNode[] nodes = [new(8, 0, Hash("n8", 0))];
        var status = await store.AppendAtHeadAsync(ledger.Id, head =>
        {
            seen.Add(head);
            appended = Linked(head.ChainHead!, head.Size, 2, "second");
            return Task.FromResult(new AppendBatch(appended, nodes));
        }, None);

        Assert.Equal(AppendStatus.Committed, status);
        var given = Assert.Single(seen);
        Assert.Equal(3, given.Size);
        Assert.Equal(first[^1].ChainHash, given.ChainHead);
        var head = await store.GetHeadAsync(ledger.Id, None);
        Assert.Equal(5, head.Size);
        Assert.Equal(appended[^1].ChainHash, head.ChainHead);
        foreach (var e in appended)
        {
            var stored = await store.GetEventAsync(ledger.Id, e.Id, None);
            Assert.NotNull(stored);
            Assert.Equal(e, stored, EventComparer.Instance);
        }

        Assert.Equal(nodes[0].Hash, store.ReadNodeHashes(ledger.Id, 8, 0, 1));
    }

    [StoreFact]
    public async Task Append_at_head_on_an_empty_ledger_passes_size_zero_and_no_chain_head()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);

        LedgerHead? given = null;
        var status = await store.AppendAtHeadAsync(ledger!.Id, head =>
        {
            given = head;
            return Task.FromResult(new AppendBatch(Linked(Genesis, head.Size, 1, "only"), []));
        }, None);

        Assert.Equal(AppendStatus.Committed, status);
        Assert.Equal(new LedgerHead(0, null), given);
        Assert.Equal(1, (await store.GetHeadAsync(ledger.Id, None)).Size);
    }

    [StoreFact]
    public async Task Append_at_head_with_an_empty_batch_commits_without_writing()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var first = Linked(Genesis, 0, 2, "first");
        await store.AppendAsync(ledger!.Id, 0, first, [], None);

        var calls = 0;
        var status = await store.AppendAtHeadAsync(ledger.Id, _ =>
        {
            calls++;
            return Task.FromResult(new AppendBatch([], []));
        }, None);

        Assert.Equal(AppendStatus.Committed, status);
        Assert.Equal(1, calls);
        var head = await store.GetHeadAsync(ledger.Id, None);
        Assert.Equal(2, head.Size);
        Assert.Equal(first[^1].ChainHash, head.ChainHead);

        // The ledger's lock (if any) was released: the next append goes through.
        Assert.Equal(AppendStatus.Committed, await store.AppendAtHeadAsync(ledger.Id, h => Task.FromResult(new AppendBatch(Linked(h.ChainHead!, h.Size, 1, "next"), [])), None));
        Assert.Equal(3, (await store.GetHeadAsync(ledger.Id, None)).Size);
    }

    [StoreFact]
    public async Task Append_at_head_reports_a_stored_idempotency_key_as_a_conflict_and_writes_nothing()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var first = Linked(Genesis, 0, 1, "first", _ => "order-1");
        await store.AppendAsync(ledger!.Id, 0, first, [], None);

        List<StoredEvent> group = [];
        var status = await store.AppendAtHeadAsync(ledger.Id, head =>
        {
            // A fresh key, an event without one, and the stored key: the whole group is refused.
            group = Linked(head.ChainHead!, head.Size, 3, "group", position => position switch { 1 => "order-2", 3 => "order-1", _ => null });
            return Task.FromResult(new AppendBatch(group, [new StoredTreeNode(8, 0, Hash("n", 0))]));
        }, None);

        Assert.Equal(AppendStatus.IdempotencyConflict, status);
        var head = await store.GetHeadAsync(ledger.Id, None);
        Assert.Equal(1, head.Size);
        Assert.Equal(first[0].ChainHash, head.ChainHead);
        foreach (var e in group)
        {
            Assert.Null(await store.GetEventAsync(ledger.Id, e.Id, None));
        }

        Assert.Empty(await store.FindByIdempotencyKeysAsync(ledger.Id, ["order-2"], None));
        Assert.Empty(store.ReadNodeHashes(ledger.Id, 8, 0, 1));

        // Nothing is left locked or half-written: the same group without the stored key commits at seq 1.
        Assert.Equal(AppendStatus.Committed, await store.AppendAtHeadAsync(ledger.Id, h =>
            Task.FromResult(new AppendBatch(Linked(h.ChainHead!, h.Size, 2, "retry", position => position == 1 ? "order-2" : null), [])), None));
        Assert.Equal(3, (await store.GetHeadAsync(ledger.Id, None)).Size);
    }

    [StoreFact]
    public async Task A_checkpoint_in_the_batch_is_stored_with_its_events()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        await store.AddCheckpointAsync(ledger!.Id, new StoredCheckpoint(0, Hash("root", 0), null, "note 0"u8.ToArray(), Now), None);

        StoredCheckpoint? signed = null;
        var status = await store.AppendAtHeadAsync(ledger.Id, head =>
        {
            var events = Linked(Genesis, head.Size, 4, "signed");
            signed = new StoredCheckpoint(4, Hash("root", 4), events[^1].ChainHash, "note 4"u8.ToArray(), Now.AddSeconds(1));
            return Task.FromResult(new AppendBatch(events, [], signed));
        }, None);

        Assert.Equal(AppendStatus.Committed, status);
        Assert.Equal(4, (await store.GetHeadAsync(ledger.Id, None)).Size);
        AssertSameCheckpoint(signed!, await store.GetLatestCheckpointAsync(ledger.Id, None));
        Assert.Equal([0L, 4L], (await store.ListCheckpointsAsync(ledger.Id, 0, 10, None)).Select(c => c.Size));

        // The optimistic append takes one too.
        var more = Linked(signed!.ChainHead!, 4, 2, "more");
        var next = new StoredCheckpoint(6, Hash("root", 6), more[^1].ChainHash, "note 6"u8.ToArray(), Now.AddSeconds(2));
        Assert.Equal(AppendStatus.Committed, await store.AppendAsync(ledger.Id, 4, new AppendBatch(more, [], next), None));
        AssertSameCheckpoint(next, await store.GetLatestCheckpointAsync(ledger.Id, None));
    }

    [StoreFact]
    public async Task A_checkpoint_in_a_refused_batch_is_not_stored()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var first = Linked(Genesis, 0, 1, "first", _ => "order-1");
        await store.AppendAsync(ledger!.Id, 0, first, [], None);

        // The group repeats a stored idempotency key, so neither its events nor its checkpoint are kept.
        var status = await store.AppendAtHeadAsync(ledger.Id, head =>
        {
            var group = Linked(head.ChainHead!, head.Size, 2, "group", position => position == 2 ? "order-1" : null);
            return Task.FromResult(new AppendBatch(group, [], new StoredCheckpoint(3, Hash("root", 3), group[^1].ChainHash, "note 3"u8.ToArray(), Now)));
        }, None);
        Assert.Equal(AppendStatus.IdempotencyConflict, status);
        Assert.Null(await store.GetLatestCheckpointAsync(ledger.Id, None));

        // A size conflict on the optimistic append keeps nothing either.
        var stale = Linked(Genesis, 0, 2, "stale");
        var refused = await store.AppendAsync(ledger.Id, 0, new AppendBatch(stale, [], new StoredCheckpoint(2, Hash("root", 2), stale[^1].ChainHash, "note 2"u8.ToArray(), Now)), None);
        Assert.Equal(AppendStatus.SizeConflict, refused);
        Assert.Null(await store.GetLatestCheckpointAsync(ledger.Id, None));
        Assert.Equal(1, (await store.GetHeadAsync(ledger.Id, None)).Size);
    }

    [StoreFact]
    public async Task A_checkpoint_that_does_not_end_the_batch_is_refused_and_nothing_is_written()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);

        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAtHeadAsync(ledger!.Id, head =>
        {
            var events = Linked(Genesis, head.Size, 3, "short");
            return Task.FromResult(new AppendBatch(events, [], new StoredCheckpoint(2, Hash("root", 2), events[1].ChainHash, "note 2"u8.ToArray(), Now)));
        }, None));

        Assert.Equal(0, (await store.GetHeadAsync(ledger!.Id, None)).Size);
        Assert.Null(await store.GetLatestCheckpointAsync(ledger.Id, None));

        // The ledger is not left locked: an append goes through.
        Assert.Equal(AppendStatus.Committed, await store.AppendAtHeadAsync(ledger.Id, h => Task.FromResult(new AppendBatch(Linked(Genesis, h.Size, 1, "next"), [])), None));
    }

    [StoreFact]
    public async Task Two_concurrent_callers_of_append_at_head_take_turns_and_leave_one_gap_free_chain()
    {
        const int Rounds = 15;
        const int PerRound = 3;
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);

        // Two writers on separate store instances, as two nodes on one database would be.
        await using var other = OpenSameDatabase(store);
        await other.InitializeAsync(None);

        using var start = new SemaphoreSlim(0, 2);
        async Task<List<string>> WriteAsync(ISteleStore writer, string name)
        {
            await start.WaitAsync();
            var committed = new List<string>();
            for (var round = 0; round < Rounds; round++)
            {
                List<StoredEvent> built = [];
                var status = await writer.AppendAtHeadAsync(ledger!.Id, async head =>
                {
                    // Linger while building, so the other writer arrives and has to wait or retry.
                    await Task.Delay(2);
                    built = Linked(head.ChainHead ?? Genesis, head.Size, PerRound, $"{name}-{round}");
                    return new AppendBatch(built, []);
                }, None);
                Assert.Equal(AppendStatus.Committed, status);
                committed.AddRange(built.Select(e => e.Id));
            }

            return committed;
        }

        var a = WriteAsync(store, "a");
        var b = WriteAsync(other, "b");
        start.Release(2);
        var ids = (await a).Concat(await b).ToList();

        // Every committed event is stored once, at seqs 0 .. n-1, and each batch extended the chain
        // from the head it was really appended at (a batch built for a stale head would break it).
        var stored = new List<StoredEvent>();
        await foreach (var e in store.ReadRangeAsync(ledger!.Id, 0, long.MaxValue, None))
        {
            stored.Add(e);
        }

        Assert.Equal(2 * Rounds * PerRound, stored.Count);
        Assert.Equal(Enumerable.Range(0, stored.Count).Select(i => (long)i), stored.Select(e => e.Seq));
        Assert.Equal(ids.Order(StringComparer.Ordinal), stored.Select(e => e.Id).Order(StringComparer.Ordinal));
        var previous = Genesis;
        foreach (var e in stored)
        {
            Assert.True(Next(previous, e.LeafHash).AsSpan().SequenceEqual(e.ChainHash), $"the chain breaks at seq {e.Seq}");
            previous = e.ChainHash;
        }

        Assert.Equal(previous, (await store.GetHeadAsync(ledger.Id, None)).ChainHead);
    }

    /// <summary>Events from <paramref name="start"/> whose chain hashes extend <paramref name="chainHead"/>; <paramref name="idempotencyKey"/> maps a 1-based position in the group to its key.</summary>
    private static List<StoredEvent> Linked(byte[] chainHead, long start, int count, string tag, Func<int, string?>? idempotencyKey = null)
    {
        var events = new List<StoredEvent>(count);
        var chain = chainHead;
        for (var i = 0; i < count; i++)
        {
            var seq = start + i;
            var leafHash = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{tag}:{seq}"));
            chain = Next(chain, leafHash);
            events.Add(Event(seq, idPrefix: tag, idempotencyKey: idempotencyKey?.Invoke(i + 1)).Stored with { LeafHash = leafHash, ChainHash = chain });
        }

        return events;
    }

    private static byte[] Next(byte[] previous, byte[] leafHash) => SHA256.HashData([.. previous, .. leafHash]);
}

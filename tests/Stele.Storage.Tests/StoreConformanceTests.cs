using System.Data.Common;
using System.Text;
using static Stele.Storage.Tests.TestData;

namespace Stele.Storage.Tests;

/// <summary>
/// The storage contract, run unchanged against every backend. A backend supplies a fresh,
/// initialised store per test, a second instance over the same database, and a way to run raw
/// SQL through its own connections (to prove the database itself rejects changes).
/// </summary>
public abstract partial class StoreConformanceTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>Tables whose rows no statement may change or remove (DESIGN.md, Storage).</summary>
    private static readonly string[] AppendOnlyTables = ["events", "payloads", "event_targets", "tree_nodes", "checkpoints"];

    /// <summary>A fresh, initialised store over an empty database.</summary>
    protected abstract Task<ISteleStore> CreateStoreAsync();

    /// <summary>Another, not yet initialised, store over the same database as <paramref name="store"/>.</summary>
    protected abstract ISteleStore OpenSameDatabase(ISteleStore store);

    /// <summary>Runs raw SQL against the store's database and returns the number of rows affected.</summary>
    protected abstract Task<int> ExecuteRawAsync(ISteleStore store, string sql);

    [StoreFact]
    public async Task Initialising_twice_keeps_the_data()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        Assert.Equal(AppendStatus.Committed, await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, 2), []));

        await using var again = OpenSameDatabase(store);
        await again.InitializeAsync(None);
        await again.InitializeAsync(None);

        Assert.Equal(2, (await again.GetHeadAsync(ledger.Id, None)).Size);
    }

    [StoreFact]
    public async Task A_database_with_a_newer_schema_is_refused()
    {
        await using var store = await CreateStoreAsync();
        Assert.Equal(1, await ExecuteRawAsync(store, "UPDATE stele_schema SET version = 99 WHERE id = 1"));

        await using var newer = OpenSameDatabase(store);
        var error = await Assert.ThrowsAsync<StorageVersionException>(() => newer.InitializeAsync(None));
        Assert.Contains("99", error.Message, StringComparison.Ordinal);
    }

    [StoreFact]
    public async Task A_ledger_is_created_once_per_name()
    {
        await using var store = await CreateStoreAsync();
        var created = await store.CreateLedgerAsync("billing", "Billing events", Now, None);

        Assert.NotNull(created);
        Assert.Equal("billing", created.Name);
        Assert.Equal("Billing events", created.Description);
        Assert.Equal(Now, created.CreatedAt);
        Assert.Null(await store.CreateLedgerAsync("billing", "again", Now, None));
        Assert.Single(await store.ListLedgersAsync(None));
    }

    [StoreFact]
    public async Task Ledgers_are_found_by_name_and_listed_in_name_order()
    {
        await using var store = await CreateStoreAsync();
        var zeta = await store.CreateLedgerAsync("zeta", null, Now, None);
        var alpha = await store.CreateLedgerAsync("alpha", "first", Now.AddSeconds(1), None);

        Assert.Equal(["alpha", "zeta"], (await store.ListLedgersAsync(None)).Select(l => l.Name));
        Assert.Equal(alpha, await store.FindLedgerAsync("alpha", None));
        Assert.Equal(zeta, await store.FindLedgerAsync("zeta", None));
        Assert.Null(await store.FindLedgerAsync("missing", None));
        Assert.NotEqual(alpha!.Id, zeta!.Id);
    }

    [StoreFact]
    public async Task An_empty_ledger_has_size_zero_and_no_chain_head()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);

        var head = await store.GetHeadAsync(ledger!.Id, None);

        Assert.Equal(0, head.Size);
        Assert.Null(head.ChainHead);
    }

    [StoreFact]
    public async Task Appended_events_read_back_field_for_field_and_move_the_head()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var full = Event(0, action: "doc.shared", actor: "bob", resource: "document", resourceId: "d-1", tenant: "acme", session: "s-1",
            country: "NL", outcome: "failure", idempotencyKey: "k-0", search: "Bob shared a document",
            targets: [new StoredTarget("user", "u-9"), new StoredTarget("team", null)]);
        var bare = Event(1, payload: false);

        Assert.Equal(AppendStatus.Committed, await store.AppendIndexedAsync(ledger!.Id, 0, [full, bare], []));

        AssertSameEvent(full, await store.GetEventAsync(ledger.Id, full.Id, None));
        AssertSameEvent(bare, await store.GetEventAsync(ledger.Id, bare.Id, None));
        var head = await store.GetHeadAsync(ledger.Id, None);
        Assert.Equal(2, head.Size);
        Assert.Equal(bare.Stored.ChainHash, head.ChainHead);
    }

    [StoreFact]
    public async Task An_event_is_found_only_in_its_own_ledger()
    {
        await using var store = await CreateStoreAsync();
        var main = await store.CreateLedgerAsync("main", null, Now, None);
        var other = await store.CreateLedgerAsync("other", null, Now, None);
        var e = Event(0);
        await store.AppendIndexedAsync(main!.Id, 0, [e], []);

        Assert.NotNull(await store.GetEventAsync(main.Id, e.Id, None));
        Assert.Null(await store.GetEventAsync(other!.Id, e.Id, None));
        Assert.Null(await store.GetEventAsync(main.Id, "no-such-event", None));
        Assert.Equal(0, (await store.GetHeadAsync(other.Id, None)).Size);
    }

    [StoreFact]
    public async Task An_empty_group_commits_without_writing()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);

        Assert.Equal(AppendStatus.Committed, await store.AppendIndexedAsync(ledger!.Id, 0, [], []));
        Assert.Equal(0, (await store.GetHeadAsync(ledger.Id, None)).Size);
    }

    [StoreFact]
    public async Task A_wrong_expected_size_is_a_conflict_and_writes_nothing()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, 3), [new StoredTreeNode(8, 0, Hash("node", 0))]);

        var behind = Events(2, 2);
        var ahead = Events(4, 2);
        Assert.Equal(AppendStatus.SizeConflict, await store.AppendIndexedAsync(ledger.Id, 2, behind, [new StoredTreeNode(8, 1, Hash("node", 1))]));
        Assert.Equal(AppendStatus.SizeConflict, await store.AppendIndexedAsync(ledger.Id, 4, ahead, []));

        Assert.Equal(3, (await store.GetHeadAsync(ledger.Id, None)).Size);
        foreach (var e in behind.Concat(ahead))
        {
            Assert.Null(await store.GetEventAsync(ledger.Id, e.Id, None));
        }

        Assert.Equal(32, store.ReadNodeHashes(ledger.Id, 8, 0, 2).Length);
        Assert.Equal(AppendStatus.Committed, await store.AppendIndexedAsync(ledger.Id, 3, Events(3, 1), []));
    }

    [StoreFact]
    public async Task A_stored_idempotency_key_is_a_conflict_and_writes_nothing()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        await store.AppendIndexedAsync(ledger!.Id, 0, [Event(0, idempotencyKey: "order-1")], []);

        var group = new List<TestEvent>
        {
            Event(1, idempotencyKey: "order-2", search: "fresh", targets: [new StoredTarget("user", "u")]),
            Event(2),
            Event(3, idempotencyKey: "order-1"),
        };
        Assert.Equal(AppendStatus.IdempotencyConflict, await store.AppendIndexedAsync(ledger.Id, 1, group, [new StoredTreeNode(8, 0, Hash("n", 0))]));

        Assert.Equal(1, (await store.GetHeadAsync(ledger.Id, None)).Size);
        foreach (var e in group)
        {
            Assert.Null(await store.GetEventAsync(ledger.Id, e.Id, None));
        }

        Assert.Empty(await store.FindByIdempotencyKeysAsync(ledger.Id, ["order-2"], None));
        Assert.Empty(store.ReadNodeHashes(ledger.Id, 8, 0, 1));
        Assert.Empty((await store.QueryEventsAsync(ledger.Id, new EventQuery { Search = "fresh" }, None)).Events);

        // The same key in another ledger is no conflict: keys are per ledger.
        var other = await store.CreateLedgerAsync("other", null, Now, None);
        Assert.Equal(AppendStatus.Committed, await store.AppendIndexedAsync(other!.Id, 0, [Event(0, idempotencyKey: "order-1", idPrefix: "other")], []));
    }

    [StoreFact]
    public async Task Events_are_found_by_their_idempotency_keys()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var events = Events(0, 4, s => Event(s, idempotencyKey: s % 2 == 0 ? $"key-{s}" : null, targets: [new StoredTarget("t", $"{s}")]));
        await store.AppendIndexedAsync(ledger!.Id, 0, events, []);

        var found = await store.FindByIdempotencyKeysAsync(ledger.Id, ["key-0", "key-2", "key-9"], None);

        Assert.Equal([0L, 2L], found.Select(e => e.Seq).Order());
        AssertSameEvent(events[2], found.Single(e => e.Seq == 2));
        Assert.Empty(await store.FindByIdempotencyKeysAsync(ledger.Id, [], None));
    }

    [StoreFact]
    public async Task A_group_of_a_thousand_events_commits_and_reads_back_in_order_across_pages()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        Assert.Equal(AppendStatus.Committed, await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, 1000), []));
        Assert.Equal(AppendStatus.Committed, await store.AppendIndexedAsync(ledger.Id, 1000, Events(1000, 1000), []));

        var seqs = new List<long>();
        await foreach (var e in store.ReadRangeAsync(ledger.Id, 500, 1700, None))
        {
            seqs.Add(e.Seq);
        }

        Assert.Equal(Enumerable.Range(500, 1200).Select(i => (long)i), seqs);
        var beyond = new List<long>();
        await foreach (var e in store.ReadRangeAsync(ledger.Id, 1990, 5000, None))
        {
            beyond.Add(e.Seq);
        }

        Assert.Equal(10, beyond.Count);
    }

    [StoreFact]
    public async Task Verification_reads_the_same_leaves_hashes_and_payloads_as_the_full_rows_with_absent_payloads_as_null()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var other = await store.CreateLedgerAsync("other", null, Now, None);
        // Payloads absent at the range's ends, in runs and alone, so the merge of the two scans is tested at each edge.
        var events = Events(0, 40, s => Event(s, payload: s is not (0 or 5 or 6 or 7 or 20 or 39)));
        Assert.Equal(AppendStatus.Committed, await store.AppendIndexedAsync(ledger!.Id, 0, events, []));
        Assert.Equal(AppendStatus.Committed, await store.AppendIndexedAsync(other!.Id, 0, Events(0, 40), []));

        // Without a buffer, with one reused from range to range, and with one that must grow in the middle of a range.
        foreach (var buffer in new[] { null, new LedgerEntryBuffer(), new LedgerEntryBuffer(100) })
        {
            foreach (var (from, to) in new[] { (0L, 40L), (5L, 8L), (6L, 21L), (39L, 40L), (30L, 1000L), (40L, 50L), (10L, 10L) })
            {
                var expected = new List<StoredEvent>();
                await foreach (var e in store.ReadRangeAsync(ledger.Id, from, to, None))
                {
                    expected.Add(e);
                }

                buffer?.Reset();
                var entries = await store.ReadLedgerEntriesAsync(ledger.Id, from, to, buffer, None);
                Assert.Equal(expected.Select(e => e.Seq), entries.Select(e => e.Seq));
                foreach (var (e, entry) in expected.Zip(entries))
                {
                    Assert.Equal(e.Leaf, entry.Leaf.ToArray());
                    Assert.Equal(e.LeafHash, entry.StoredLeafHash);
                    Assert.Equal(e.ChainHash, entry.StoredChainHash);
                    Assert.Equal(e.Payload, entry.Payload?.ToArray());
                    Assert.Equal(e.Payload is null, entry.Payload is null);
                }
            }

            Assert.Equal(6, (await store.ReadLedgerEntriesAsync(ledger.Id, 0, 40, buffer, None)).Count(e => e.Payload is null));
        }
    }

    [StoreFact]
    public async Task Each_equality_filter_selects_exactly_its_events()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        await store.AppendIndexedAsync(ledger!.Id, 0,
        [
            Event(0, actor: "alice", resource: "document", resourceId: "d-1", tenant: "acme", session: "s-1", country: "NL", outcome: "success"),
            Event(1, actor: "bob", resource: "document", resourceId: "d-2", tenant: "acme", session: "s-2", country: "DE", outcome: "failure"),
            Event(2, actor: "alice", resource: "folder", resourceId: "d-1", tenant: "globex", session: "s-1", country: "US", outcome: "success"),
            Event(3, actor: "carol"),
        ], []);

        await AssertQuery(store, ledger.Id, new EventQuery { ActorId = "alice" }, 2, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { Resource = "document" }, 1, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { ResourceId = "d-1" }, 2, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { Resource = "document", ResourceId = "d-2" }, 1);
        await AssertQuery(store, ledger.Id, new EventQuery { TenantId = "acme" }, 1, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { SessionId = "s-1" }, 2, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { IpCountry = "DE" }, 1);
        await AssertQuery(store, ledger.Id, new EventQuery { Outcome = "failure" }, 1);
        await AssertQuery(store, ledger.Id, new EventQuery { ActorId = "ALICE" });
        await AssertQuery(store, ledger.Id, new EventQuery(), 3, 2, 1, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { ActorId = "alice", TenantId = "globex", Outcome = "success" }, 2);
    }

    [StoreFact]
    public async Task Action_patterns_match_exact_prefix_suffix_and_middle()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        string[] actions = ["user.created", "user.deleted", "user.role.created", "document.created", "user", "users.created"];
        await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, actions.Length, s => Event(s, action: actions[s])), []);

        await AssertQuery(store, ledger.Id, new EventQuery { Action = "user.created" }, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "user.*" }, 2, 1, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "*.created" }, 5, 3, 2, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "user.*.created" }, 2);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "user*created" }, 5, 2, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "*role*" }, 2);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "*" }, 5, 4, 3, 2, 1, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "user" }, 4);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "User.*" });
    }

    [StoreFact]
    public async Task Like_and_glob_metacharacters_in_actions_are_literal()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        string[] actions = ["a%b.x", "a_b.x", "aXb.x", "a[b].x", "a?b.x", @"a\b.x", "ab.x"];
        await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, actions.Length, s => Event(s, action: actions[s])), []);

        await AssertQuery(store, ledger.Id, new EventQuery { Action = "a%b.*" }, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "a_b.*" }, 1);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "a[b].*" }, 3);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "a?b.*" }, 4);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = @"a\b.*" }, 5);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "*%b.x" }, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "*_b.x" }, 1);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "*?b.x" }, 4);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "*[b].x" }, 3);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = @"*\b.x" }, 5);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "a?b.x" }, 4);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "a*_*" }, 1);
        await AssertQuery(store, ledger.Id, new EventQuery { Action = "a*b.x" }, 6, 5, 4, 2, 1, 0);
    }

    [StoreFact]
    public async Task Target_filters_match_type_id_or_both_without_duplicates()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        await store.AppendIndexedAsync(ledger!.Id, 0,
        [
            Event(0, targets: [new StoredTarget("user", "u-1"), new StoredTarget("user", "u-2")]),
            Event(1, targets: [new StoredTarget("team", "u-1")]),
            Event(2, targets: [new StoredTarget("user", null)]),
            Event(3),
        ], []);

        await AssertQuery(store, ledger.Id, new EventQuery { TargetType = "user" }, 2, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { TargetId = "u-1" }, 1, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { TargetType = "user", TargetId = "u-1" }, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { TargetType = "team", TargetId = "u-2" });

        await AssertQuery(store, ledger.Id, new EventQuery { TargetId = "u-2" }, 0);
    }

    [StoreFact]
    public async Task The_time_range_includes_its_start_and_excludes_its_end()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, 5, s => Event(s, occurredAt: 100 * (s + 1))), []);

        await AssertQuery(store, ledger.Id, new EventQuery { FromMicros = 200, ToMicros = 400 }, 2, 1);
        await AssertQuery(store, ledger.Id, new EventQuery { FromMicros = 201 }, 4, 3, 2);
        await AssertQuery(store, ledger.Id, new EventQuery { ToMicros = 200 }, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { FromMicros = 600 });
    }

    [StoreFact]
    public async Task Search_is_a_case_insensitive_substring_match()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        string?[] texts =
        [
            "Alice Example alice@example.com signed in",
            "привет мир from Été office",
            "she said \"hello world\" twice",
            "price 1000 and 100% sure",
            "abc def q",
            null,
            "XYZ zx",
            "1000 only and a-c",
        ];
        await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, texts.Length, s => Event(s, search: texts[s])), []);

        await AssertQuery(store, ledger.Id, new EventQuery { Search = "ALICE@EXAMPLE" }, 0);
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "ПРИВЕТ" }, 1);
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "été OFF" }, 1);
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "\"hello world\"" }, 2);
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "said \"Hello" }, 2);
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "100%" }, 3);
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "a_c" });
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "Q" }, 4);
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "zX" }, 6);
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "мир" }, 1);
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "nowhere to be found" });
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "a-c" }, 7);
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "éT" }, 1);
        await AssertQuery(store, ledger.Id, new EventQuery { Search = "П" }, 1);
    }

    [StoreFact]
    public async Task Filters_combine_with_and()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        await store.AppendIndexedAsync(ledger!.Id, 0,
        [
            Event(0, action: "user.login", actor: "alice", occurredAt: 100, search: "from Berlin", targets: [new StoredTarget("app", "web")]),
            Event(1, action: "user.login", actor: "alice", occurredAt: 200, search: "from Berlin", targets: [new StoredTarget("app", "web")]),
            Event(2, action: "user.logout", actor: "alice", occurredAt: 300, search: "from Berlin", targets: [new StoredTarget("app", "web")]),
            Event(3, action: "user.login", actor: "bob", occurredAt: 400, search: "from Berlin", targets: [new StoredTarget("app", "web")]),
            Event(4, action: "user.login", actor: "alice", occurredAt: 500, search: "from Paris", targets: [new StoredTarget("app", "web")]),
            Event(5, action: "user.login", actor: "alice", occurredAt: 600, search: "from Berlin", targets: [new StoredTarget("app", "cli")]),
            Event(6, action: "user.login", actor: "alice", occurredAt: 700, search: "from Berlin", targets: [new StoredTarget("app", "web")]),
        ], []);

        var query = new EventQuery
        {
            Action = "user.log*",
            ActorId = "alice",
            FromMicros = 200,
            ToMicros = 800,
            Search = "BERLIN",
            TargetType = "app",
            TargetId = "web",
            Outcome = "success",
        };
        await AssertQuery(store, ledger.Id, query, 6, 2, 1);
        await AssertQuery(store, ledger.Id, query with { Action = "*.login" }, 6, 1);
        await AssertQuery(store, ledger.Id, query with { Ascending = true, AfterSeq = 1 }, 2, 6);
    }

    [StoreFact]
    public async Task Cursors_page_through_every_event_once_in_both_directions()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, 10, s => Event(s, actor: s % 3 == 0 ? "x" : "y")), []);

        foreach (var ascending in new[] { false, true })
        {
            var seen = new List<long>();
            long? after = null;
            var pages = 0;
            while (true)
            {
                var page = await store.QueryEventsAsync(ledger.Id, new EventQuery { Limit = 3, Ascending = ascending, AfterSeq = after }, None);
                pages++;
                seen.AddRange(page.Events.Select(e => e.Seq));
                Assert.Equal(page.HasMore ? 3 : 1, page.Events.Count);
                if (!page.HasMore)
                {
                    break;
                }

                after = page.Events[^1].Seq;
            }

            var expected = Enumerable.Range(0, 10).Select(i => (long)i);
            Assert.Equal(ascending ? expected : expected.Reverse(), seen);
            Assert.Equal(4, pages);
        }

        var filtered = await store.QueryEventsAsync(ledger.Id, new EventQuery { ActorId = "x", AfterSeq = 9, Limit = 2 }, None);
        Assert.Equal([6L, 3L], filtered.Events.Select(e => e.Seq));
        Assert.True(filtered.HasMore);
        var exact = await store.QueryEventsAsync(ledger.Id, new EventQuery { ActorId = "x", AfterSeq = 3, Limit = 1 }, None);
        Assert.Equal([0L], exact.Events.Select(e => e.Seq));
        Assert.False(exact.HasMore);
    }

    [StoreFact]
    public async Task Tree_reads_return_hashes_leaves_and_payloads_in_seq_order()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var events = Rows(Events(0, 6, s => Event(s, payload: s != 2)));
        StoredTreeNode[] nodes = [new(8, 0, Hash("n8", 0)), new(8, 1, Hash("n8", 1)), new(16, 0, Hash("n16", 0))];
        await store.AppendAsync(ledger!.Id, 0, events, nodes, None);

        Assert.Equal(events.Skip(1).Take(3).SelectMany(e => e.LeafHash).ToArray(), store.ReadLeafHashes(ledger.Id, 1, 3));
        Assert.Equal(events.Skip(4).SelectMany(e => e.LeafHash).ToArray(), store.ReadLeafHashes(ledger.Id, 4, 10));
        Assert.Empty(store.ReadLeafHashes(ledger.Id, 6, 4));
        Assert.Equal(nodes[0].Hash.Concat(nodes[1].Hash).ToArray(), store.ReadNodeHashes(ledger.Id, 8, 0, 2));
        Assert.Equal(nodes[1].Hash, store.ReadNodeHashes(ledger.Id, 8, 1, 5));
        Assert.Equal(nodes[2].Hash, store.ReadNodeHashes(ledger.Id, 16, 0, 1));
        Assert.Empty(store.ReadNodeHashes(ledger.Id, 24, 0, 1));
        Assert.Equal(events.Skip(2).Take(2).Select(e => e.Leaf), store.ReadLeaves(ledger.Id, 2, 2));
        var payloads = store.ReadPayloads(ledger.Id, 1, 3);
        Assert.Equal(3, payloads.Count);
        Assert.Equal(events[1].Payload, payloads[0]);
        Assert.Null(payloads[1]);
        Assert.Equal(events[3].Payload, payloads[2]);
    }

    [StoreFact]
    public async Task Checkpoints_are_kept_once_per_size_and_listed_oldest_first()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        Assert.Null(await store.GetLatestCheckpointAsync(ledger!.Id, None));

        var first = new StoredCheckpoint(10, Hash("root", 10), null, Encoding.UTF8.GetBytes("note 10"), Now);
        var second = new StoredCheckpoint(20, Hash("root", 20), Hash("chain", 19), Encoding.UTF8.GetBytes("note 20"), Now.AddSeconds(1));
        var third = new StoredCheckpoint(30, Hash("root", 30), Hash("chain", 29), Encoding.UTF8.GetBytes("note 30"), Now.AddSeconds(2));
        await store.AddCheckpointAsync(ledger.Id, second, None);
        await store.AddCheckpointAsync(ledger.Id, first, None);
        await store.AddCheckpointAsync(ledger.Id, third, None);
        await store.AddCheckpointAsync(ledger.Id, second with { SignedNote = Encoding.UTF8.GetBytes("other note") }, None);

        AssertSameCheckpoint(third, await store.GetLatestCheckpointAsync(ledger.Id, None));
        var listed = await store.ListCheckpointsAsync(ledger.Id, 10, 20, None);
        Assert.Equal(2, listed.Count);
        AssertSameCheckpoint(first, listed[0]);
        AssertSameCheckpoint(second, listed[1]);
        Assert.Equal([20L, 30L], (await store.ListCheckpointsAsync(ledger.Id, 11, 100, None)).Select(c => c.Size));
        var other = await store.CreateLedgerAsync("other", null, Now, None);
        Assert.Null(await store.GetLatestCheckpointAsync(other!.Id, None));
    }

    [StoreFact]
    public async Task Api_keys_are_found_listed_and_revoked_once()
    {
        await using var store = await CreateStoreAsync();
        var bootstrap = new ApiKeyRecord
        {
            Id = "key-1",
            Prefix = "stl_aaaa",
            SecretHash = Hash("secret", 1),
            Name = "bootstrap",
            Ledger = null,
            Permissions = ["admin"],
            CreatedAt = Now,
            IsBootstrap = true,
        };
        var scoped = new ApiKeyRecord
        {
            Id = "key-2",
            Prefix = "stl_bbbb",
            SecretHash = Hash("secret", 2),
            Name = "ingest",
            Ledger = "billing",
            Permissions = ["events:write", "events:read"],
            CreatedAt = Now.AddMinutes(1),
        };
        await store.AddApiKeyAsync(bootstrap, None);
        await store.AddApiKeyAsync(scoped, None);

        AssertSameKey(scoped, await store.FindApiKeyByPrefixAsync("stl_bbbb", None));
        AssertSameKey(bootstrap, await store.GetApiKeyAsync("key-1", None));
        Assert.Null(await store.FindApiKeyByPrefixAsync("stl_cccc", None));
        Assert.Null(await store.GetApiKeyAsync("key-3", None));
        Assert.Equal(["key-1", "key-2"], (await store.ListApiKeysAsync(null, None)).Select(k => k.Id));
        Assert.Equal(["key-2"], (await store.ListApiKeysAsync("billing", None)).Select(k => k.Id));
        Assert.Empty(await store.ListApiKeysAsync("other", None));

        Assert.True(await store.RevokeApiKeyAsync("key-2", Now.AddHours(1), None));
        Assert.False(await store.RevokeApiKeyAsync("key-2", Now.AddHours(2), None));
        Assert.False(await store.RevokeApiKeyAsync("key-3", Now, None));
        Assert.Equal(Now.AddHours(1), (await store.GetApiKeyAsync("key-2", None))!.RevokedAt);
        Assert.Null((await store.GetApiKeyAsync("key-1", None))!.RevokedAt);
    }

    [StoreFact]
    public async Task A_setting_is_set_once()
    {
        await using var store = await CreateStoreAsync();
        Assert.Null(await store.GetSettingAsync("bootstrap-issued", None));

        Assert.True(await store.TrySetSettingAsync("bootstrap-issued", "2026-11-05", None));
        Assert.False(await store.TrySetSettingAsync("bootstrap-issued", "later", None));

        Assert.Equal("2026-11-05", await store.GetSettingAsync("bootstrap-issued", None));
    }

    [StoreFact]
    public async Task An_export_job_is_stored_updated_listed_while_unfinished_and_counted()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var other = await store.CreateLedgerAsync("other", null, Now, None);
        var job = new ExportJob
        {
            Id = "exp_1",
            LedgerId = ledger!.Id,
            Request = """{"format":"csv"}""",
            CreatedBy = "key_1",
            CreatedAt = Now,
            State = ExportJob.Queued,
        };
        Assert.True(await store.TryAddExportAsync(job, Now.AddDays(-1), 10, None));
        Assert.True(await store.TryAddExportAsync(job with { Id = "exp_2", LedgerId = other!.Id, CreatedAt = Now.AddSeconds(1) }, Now.AddDays(-1), 1, None));
        Assert.True(await store.TryAddExportAsync(job with { Id = "exp_old", CreatedAt = Now.AddDays(-40), State = ExportJob.Failed, Error = "gone" }, Now.AddDays(-41), 2, None));

        // Over quota: nothing is written. The quota counts only exports since the given time.
        Assert.False(await store.TryAddExportAsync(job with { Id = "exp_3" }, Now.AddDays(-41), 2, None));
        Assert.False(await store.TryAddExportAsync(job with { Id = "exp_4", LedgerId = other.Id }, Now.AddDays(-1), 1, None));
        Assert.True(await store.TryAddExportAsync(job with { Id = "exp_5", State = ExportJob.Failed }, Now.AddDays(-1), 2, None));
        Assert.Null(await store.GetExportAsync("exp_3", None));
        Assert.Null(await store.GetExportAsync("exp_4", None));

        Assert.Equal(job, await store.GetExportAsync("exp_1", None));
        Assert.Null(await store.GetExportAsync("exp_none", None));
        Assert.Equal(["exp_1", "exp_2"], (await store.ListUnfinishedExportsAsync(None)).Select(j => j.Id));

        var running = job with { State = ExportJob.Running, RowsDone = 10, RowsTotal = 20, StartedAt = Now.AddSeconds(2) };
        await store.UpdateExportAsync(running, None);
        Assert.Equal(running, await store.GetExportAsync("exp_1", None));
        Assert.Equal(["exp_1", "exp_2"], (await store.ListUnfinishedExportsAsync(None)).Select(j => j.Id));

        var done = running with
        {
            State = ExportJob.Succeeded,
            RowsDone = 20,
            FileName = "exp_1.csv",
            FileSize = 1234,
            FinishedAt = Now.AddSeconds(3),
            ExpiresAt = Now.AddDays(7),
        };
        await store.UpdateExportAsync(done, None);
        await using var again = OpenSameDatabase(store);
        await again.InitializeAsync(None);
        Assert.Equal(done, await again.GetExportAsync("exp_1", None));
        Assert.Equal(["exp_2"], (await again.ListUnfinishedExportsAsync(None)).Select(j => j.Id));

        Assert.Equal(2, await store.CountExportsSinceAsync(ledger.Id, Now.AddDays(-1), None));
        Assert.Equal(3, await store.CountExportsSinceAsync(ledger.Id, Now.AddDays(-41), None));
        Assert.Equal(1, await store.CountExportsSinceAsync(other.Id, Now, None));
    }

    [StoreFact]
    public async Task An_export_job_is_claimed_by_one_worker_until_its_lease_ends_and_a_stale_worker_cannot_write()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var job = new ExportJob
        {
            Id = "exp_1",
            LedgerId = ledger!.Id,
            Request = """{"format":"csv"}""",
            CreatedBy = "key_1",
            CreatedAt = Now,
            State = ExportJob.Queued,
        };
        Assert.True(await store.TryAddExportAsync(job, Now.AddDays(-1), 10, None));

        var claimed = await store.TryClaimExportAsync("exp_1", "w1", Now, Now.AddSeconds(60), 5, None);
        Assert.Equal(job with { State = ExportJob.Running, StartedAt = Now, Worker = "w1", LeaseUntil = Now.AddSeconds(60) }, claimed);
        Assert.Null(await store.TryClaimExportAsync("exp_1", "w2", Now.AddSeconds(60), Now.AddSeconds(120), 5, None));
        Assert.Null(await store.TryClaimExportAsync("exp_none", "w2", Now, Now.AddSeconds(60), 5, None));

        // The holder writes progress and renews its lease; another worker cannot write.
        var progress = claimed! with { RowsDone = 7, RowsTotal = 9, LeaseUntil = Now.AddSeconds(90) };
        Assert.True(await store.UpdateExportAsync(progress, None));
        Assert.False(await store.UpdateExportAsync(progress with { Worker = "w2", RowsDone = 8 }, None));
        Assert.Equal(progress, await store.GetExportAsync("exp_1", None));

        // The lease runs out (w1 died): w2 takes over from the beginning; w1's late writes change nothing.
        var takenOver = await store.TryClaimExportAsync("exp_1", "w2", Now.AddSeconds(91), Now.AddSeconds(151), 5, None);
        Assert.Equal(job with { State = ExportJob.Running, StartedAt = Now.AddSeconds(91), Worker = "w2", LeaseUntil = Now.AddSeconds(151) }, takenOver);
        Assert.False(await store.UpdateExportAsync(progress with { State = ExportJob.Succeeded, FileName = "exp_1.csv" }, None));
        Assert.Equal(takenOver, await store.GetExportAsync("exp_1", None));

        // A finished job is never claimed again.
        Assert.True(await store.UpdateExportAsync(takenOver! with { State = ExportJob.Succeeded, LeaseUntil = null }, None));
        Assert.Null(await store.TryClaimExportAsync("exp_1", "w3", Now.AddDays(1), Now.AddDays(2), 5, None));
    }

    [StoreFact]
    public async Task Export_claims_respect_the_per_ledger_limit_across_workers_and_race_to_one_winner()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var other = await store.CreateLedgerAsync("other", null, Now, None);
        ExportJob Job(string id, long ledgerId) => new()
        {
            Id = id,
            LedgerId = ledgerId,
            Request = "{}",
            CreatedBy = "key_1",
            CreatedAt = Now,
            State = ExportJob.Queued,
        };
        foreach (var job in new[] { Job("exp_a", ledger!.Id), Job("exp_b", ledger.Id), Job("exp_c", other!.Id) })
        {
            Assert.True(await store.TryAddExportAsync(job, Now.AddDays(-1), 10, None));
        }

        Assert.NotNull(await store.TryClaimExportAsync("exp_a", "w1", Now, Now.AddSeconds(60), 1, None));
        Assert.Null(await store.TryClaimExportAsync("exp_b", "w2", Now, Now.AddSeconds(60), 1, None));
        Assert.NotNull(await store.TryClaimExportAsync("exp_c", "w2", Now, Now.AddSeconds(60), 1, None));
        Assert.Equal(ExportJob.Queued, (await store.GetExportAsync("exp_b", None))!.State);

        // exp_a's worker died: its expired lease no longer counts against the limit.
        Assert.NotNull(await store.TryClaimExportAsync("exp_b", "w2", Now.AddSeconds(61), Now.AddSeconds(121), 1, None));

        // Many workers claim one job at once (separate connections): exactly one wins.
        Assert.True(await store.TryAddExportAsync(Job("exp_race", other.Id) with { CreatedAt = Now.AddSeconds(1) }, Now.AddDays(-1), 10, None));
        var stores = Enumerable.Range(0, 6).Select(_ => OpenSameDatabase(store)).ToList();
        try
        {
            foreach (var s in stores)
            {
                await s.InitializeAsync(None);
            }

            var results = await Task.WhenAll(stores.Select((s, i) =>
                Task.Run(() => s.TryClaimExportAsync("exp_race", $"racer{i}", Now.AddSeconds(200), Now.AddSeconds(260), 5, None))));
            var winner = Assert.Single(results, r => r is not null);
            Assert.Equal(winner!.Worker, (await store.GetExportAsync("exp_race", None))!.Worker);
        }
        finally
        {
            foreach (var s in stores)
            {
                await s.DisposeAsync();
            }
        }
    }

    [StoreFact]
    public async Task The_database_rejects_update_and_delete_on_every_append_only_table()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, 2, s => Event(s, targets: [new StoredTarget("user", "u")])), [new StoredTreeNode(8, 0, Hash("n", 0))]);
        await store.AddCheckpointAsync(ledger.Id, new StoredCheckpoint(2, Hash("root", 2), null, [1, 2, 3], Now), None);

        foreach (var table in AppendOnlyTables)
        {
            await Assert.ThrowsAnyAsync<DbException>(() => ExecuteRawAsync(store, $"UPDATE {table} SET ledger_id = ledger_id"));
            await Assert.ThrowsAnyAsync<DbException>(() => ExecuteRawAsync(store, $"DELETE FROM {table}"));
        }

        Assert.Equal(2, (await store.GetHeadAsync(ledger.Id, None)).Size);
        Assert.Equal(2, store.ReadPayloads(ledger.Id, 0, 2).Count(p => p is not null));
        Assert.Equal(2, (await store.QueryEventsAsync(ledger.Id, new EventQuery { TargetType = "user" }, None)).Events.Count);
        Assert.Equal(32, store.ReadNodeHashes(ledger.Id, 8, 0, 1).Length);
        Assert.NotNull(await store.GetLatestCheckpointAsync(ledger.Id, None));
    }

    [StoreFact]
    public async Task An_appended_event_is_read_by_id_and_idempotency_key_before_it_is_indexed()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var e = Event(0, actor: "alice", idempotencyKey: "order-1", search: "fresh");
        Assert.Equal(AppendStatus.Committed, await store.AppendAsync(ledger!.Id, 0, [e.Stored], [], None));

        AssertSameEvent(e, await store.GetEventAsync(ledger.Id, e.Id, None));
        AssertSameEvent(e, Assert.Single(await store.FindByIdempotencyKeysAsync(ledger.Id, ["order-1"], None)));
        Assert.Equal(AppendStatus.IdempotencyConflict, await store.AppendAsync(ledger.Id, 1, [Event(1, idempotencyKey: "order-1").Stored], [], None));
        Assert.Equal(0, await store.GetIndexedSizeAsync(ledger.Id, None));

        // A filtered query answers from the indexes and says they cover nothing yet; an unfiltered one reads the events.
        var filtered = await store.QueryEventsAsync(ledger.Id, new EventQuery { ActorId = "alice" }, None);
        Assert.Empty(filtered.Events);
        Assert.Equal(0, filtered.IndexedSize);
        var unfiltered = await store.QueryEventsAsync(ledger.Id, new EventQuery(), None);
        Assert.Equal([0L], unfiltered.Events.Select(x => x.Seq));
        Assert.Equal(1, unfiltered.IndexedSize);
    }

    [StoreFact]
    public async Task Indexing_advances_the_cursor_and_makes_exactly_those_events_queryable()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var events = Events(0, 5, s => Event(s, actor: "alice", search: $"note {s}"));
        await store.AppendAsync(ledger!.Id, 0, Rows(events), [], None);

        Assert.Equal(IndexStatus.Indexed, await store.IndexAsync(ledger.Id, 0, events.Take(3).Select(e => e.Index).ToList(), None));

        Assert.Equal(3, await store.GetIndexedSizeAsync(ledger.Id, None));
        var page = await store.QueryEventsAsync(ledger.Id, new EventQuery { ActorId = "alice" }, None);
        Assert.Equal([2L, 1L, 0L], page.Events.Select(e => e.Seq));
        Assert.Equal(3, page.IndexedSize);
        await store.IndexAllSearchAsync(ledger.Id);
        Assert.Equal([1L], (await store.QueryEventsAsync(ledger.Id, new EventQuery { Search = "NOTE 1" }, None)).Events.Select(e => e.Seq));

        Assert.Equal(IndexStatus.Indexed, await store.IndexAsync(ledger.Id, 3, events.Skip(3).Select(e => e.Index).ToList(), None));
        page = await store.QueryEventsAsync(ledger.Id, new EventQuery { ActorId = "alice" }, None);
        Assert.Equal([4L, 3L, 2L, 1L, 0L], page.Events.Select(e => e.Seq));
        Assert.Equal(5, page.IndexedSize);
    }

    [StoreFact]
    public async Task A_search_is_complete_below_the_search_cursor_which_never_passes_the_other_indexes()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var events = Events(0, 6, s => Event(s, actor: "alice", search: $"note {s}"));
        await store.AppendAsync(ledger!.Id, 0, Rows(events), [], None);
        Assert.Equal(IndexStatus.Indexed, await store.IndexAsync(ledger.Id, 0, events.Select(e => e.Index).ToList(), None));

        // The filters cover all six at once; search covers what its cursor says, whichever way the store writes it.
        var filtered = await store.QueryEventsAsync(ledger.Id, new EventQuery { ActorId = "alice" }, None);
        Assert.Equal(6, filtered.IndexedSize);
        Assert.Equal(6, filtered.Events.Count);
        var searched = await store.GetSearchIndexedSizeAsync(ledger.Id, None);
        while (true)
        {
            Assert.InRange(searched, 0, 6);
            var page = await store.QueryEventsAsync(ledger.Id, new EventQuery { Search = "NOTE" }, None);
            Assert.Equal(searched, page.IndexedSize);
            Assert.Equal(Enumerable.Range(0, (int)searched).Reverse().Select(s => (long)s), page.Events.Select(e => e.Seq));
            var added = await store.IndexSearchAsync(ledger.Id, 4, TimeSpan.FromSeconds(10), None);
            Assert.InRange(added, 0, Math.Min(4, 6 - searched));
            Assert.Equal(searched + added, await store.GetSearchIndexedSizeAsync(ledger.Id, None));
            if (added == 0)
            {
                break;
            }

            searched += added;
        }

        Assert.Equal(6, searched);
        Assert.Equal(0, await store.IndexSearchAsync(ledger.Id, 4, TimeSpan.FromSeconds(10), None));
        Assert.Equal([4L], (await store.QueryEventsAsync(ledger.Id, new EventQuery { Search = "note 4", ActorId = "alice" }, None)).Events.Select(e => e.Seq));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.IndexSearchAsync(ledger.Id, 0, TimeSpan.FromSeconds(10), None));
    }

    [StoreFact]
    public async Task Indexing_from_a_cursor_that_moved_writes_nothing()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var events = Events(0, 4, s => Event(s, actor: "alice"));
        await store.AppendAsync(ledger!.Id, 0, Rows(events), [], None);
        Assert.Equal(IndexStatus.Indexed, await store.IndexAsync(ledger.Id, 0, events.Take(2).Select(e => e.Index).ToList(), None));

        // Another indexer indexed 0 and 1 already: a second writer of them, or of 1 onwards, is turned away.
        Assert.Equal(IndexStatus.CursorMoved, await store.IndexAsync(ledger.Id, 0, events.Take(2).Select(e => e.Index).ToList(), None));
        Assert.Equal(IndexStatus.CursorMoved, await store.IndexAsync(ledger.Id, 1, events.Skip(1).Select(e => e.Index).ToList(), None));
        Assert.Equal(IndexStatus.CursorMoved, await store.IndexAsync(ledger.Id, 3, events.Skip(3).Select(e => e.Index).ToList(), None));

        Assert.Equal(2, await store.GetIndexedSizeAsync(ledger.Id, None));
        await AssertQuery(store, ledger.Id, new EventQuery { ActorId = "alice" }, 1, 0);
    }

    [StoreFact]
    public async Task Index_entries_must_follow_the_cursor_and_describe_stored_events()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var events = Events(0, 3);
        await store.AppendAsync(ledger!.Id, 0, Rows(events.Take(2)), [], None);

        // Not yet stored, not consecutive, or naming another event: refused, nothing written.
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.IndexAsync(ledger.Id, 0, events.Select(e => e.Index).ToList(), None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.IndexAsync(ledger.Id, 0, [events[0].Index, events[2].Index], None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.IndexAsync(ledger.Id, 0, [events[0].Index with { Id = "someone-else" }], None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.IndexAsync(ledger.Id, 0, [events[1].Index], None));

        Assert.Equal(0, await store.GetIndexedSizeAsync(ledger.Id, None));
        Assert.Equal(IndexStatus.Indexed, await store.IndexAsync(ledger.Id, 0, events.Take(2).Select(e => e.Index).ToList(), None));
        Assert.Equal(2, await store.GetIndexedSizeAsync(ledger.Id, None));
    }

    [StoreFact]
    public async Task Chunks_are_indexed_in_one_transaction_drawn_one_at_a_time()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var events = Events(0, 9, s => Event(s, actor: "alice", search: $"note {s}"));
        await store.AppendAsync(ledger!.Id, 0, Rows(events), [], None);
        var drawn = new List<int>();
        async IAsyncEnumerable<IReadOnlyList<EventIndexEntry>> Chunks()
        {
            foreach (var (from, count) in new[] { (0, 4), (4, 0), (4, 1), (5, 4) })
            {
                await Task.Yield();
                drawn.Add(from);
                yield return events.Skip(from).Take(count).Select(e => e.Index).ToList();
            }
        }

        Assert.Equal(IndexStatus.Indexed, await store.IndexChunksAsync(ledger.Id, 0, Chunks(), None));

        Assert.Equal([0, 4, 4, 5], drawn);
        Assert.Equal(9, await store.GetIndexedSizeAsync(ledger.Id, None));
        await AssertQuery(store, ledger.Id, new EventQuery { ActorId = "alice" }, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        await store.IndexAllSearchAsync(ledger.Id);
        Assert.Equal([5L], (await store.QueryEventsAsync(ledger.Id, new EventQuery { Search = "NOTE 5" }, None)).Events.Select(e => e.Seq));
    }

    [StoreFact]
    public async Task A_bad_or_failing_later_chunk_leaves_the_earlier_chunks_of_its_transaction_unwritten()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var events = Events(0, 6, s => Event(s, actor: "alice"));
        await store.AppendAsync(ledger!.Id, 0, Rows(events.Take(5)), [], None);
        IReadOnlyList<EventIndexEntry> Entries(int from, int count) => events.Skip(from).Take(count).Select(e => e.Index).ToList();
        async IAsyncEnumerable<IReadOnlyList<EventIndexEntry>> Chunks(IReadOnlyList<EventIndexEntry> third, Exception? failure = null)
        {
            await Task.Yield();
            yield return Entries(0, 2);
            yield return Entries(2, 1);
            if (failure is not null)
            {
                throw failure;
            }

            yield return third;
        }

        // A gap, a chunk that starts over, a seq not stored yet, an id of another event; then a chunk source that fails.
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.IndexChunksAsync(ledger.Id, 0, Chunks(Entries(4, 1)), None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.IndexChunksAsync(ledger.Id, 0, Chunks(Entries(0, 2)), None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.IndexChunksAsync(ledger.Id, 0, Chunks(Entries(3, 3)), None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.IndexChunksAsync(ledger.Id, 0, Chunks([events[3].Index with { Id = "someone-else" }]), None));
        await Assert.ThrowsAsync<IOException>(() => store.IndexChunksAsync(ledger.Id, 0, Chunks(Entries(3, 2), new IOException("the source failed")), None));

        Assert.Equal(0, await store.GetIndexedSizeAsync(ledger.Id, None));
        await AssertQuery(store, ledger.Id, new EventQuery { ActorId = "alice" });
        Assert.Equal(IndexStatus.Indexed, await store.IndexChunksAsync(ledger.Id, 0, Chunks(Entries(3, 2)), None));
        Assert.Equal(5, await store.GetIndexedSizeAsync(ledger.Id, None));
        await AssertQuery(store, ledger.Id, new EventQuery { ActorId = "alice" }, 4, 3, 2, 1, 0);
    }

    [StoreFact]
    public async Task A_moved_cursor_is_reported_before_any_chunk_is_drawn()
    {
        await using var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var events = Events(0, 4, s => Event(s, actor: "alice"));
        await store.AppendAsync(ledger!.Id, 0, Rows(events), [], None);
        Assert.Equal(IndexStatus.Indexed, await store.IndexAsync(ledger.Id, 0, events.Take(2).Select(e => e.Index).ToList(), None));
        var drawn = 0;
        async IAsyncEnumerable<IReadOnlyList<EventIndexEntry>> Chunks()
        {
            await Task.Yield();
            drawn++;
            yield return events.Skip(1).Select(e => e.Index).ToList();
        }

        Assert.Equal(IndexStatus.CursorMoved, await store.IndexChunksAsync(ledger.Id, 1, Chunks(), None));

        Assert.Equal(0, drawn);
        Assert.Equal(2, await store.GetIndexedSizeAsync(ledger.Id, None));
    }

    [StoreFact]
    public async Task The_indexed_size_is_durable_per_ledger()
    {
        await using var store = await CreateStoreAsync();
        var main = await store.CreateLedgerAsync("main", null, Now, None);
        var other = await store.CreateLedgerAsync("other", null, Now, None);
        await store.AppendIndexedAsync(main!.Id, 0, Events(0, 3, s => Event(s, actor: "alice")), []);
        await store.AppendAsync(other!.Id, 0, Rows(Events(0, 2, s => Event(s, actor: "alice", idPrefix: "other"))), [], None);

        await using var again = OpenSameDatabase(store);
        await again.InitializeAsync(None);

        Assert.Equal(3, await again.GetIndexedSizeAsync(main.Id, None));
        Assert.Equal(0, await again.GetIndexedSizeAsync(other.Id, None));
        await AssertQuery(again, main.Id, new EventQuery { ActorId = "alice" }, 2, 1, 0);
        await AssertQuery(again, other.Id, new EventQuery { ActorId = "alice" });
    }

    private static async Task AssertQuery(ISteleStore store, long ledgerId, EventQuery query, params long[] expectedSeqs)
    {
        var page = await store.QueryEventsAsync(ledgerId, query with { Limit = 100 }, None);
        Assert.Equal(expectedSeqs, page.Events.Select(e => e.Seq).ToArray());
        Assert.False(page.HasMore);
    }

    private static void AssertSameEvent(TestEvent expected, StoredEvent? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Stored, actual, EventComparer.Instance);
    }

    private static void AssertSameCheckpoint(StoredCheckpoint expected, StoredCheckpoint? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Size, actual.Size);
        Assert.Equal(expected.RootHash, actual.RootHash);
        Assert.Equal(expected.ChainHead, actual.ChainHead);
        Assert.Equal(expected.SignedNote, actual.SignedNote);
        Assert.Equal(expected.CreatedAt, actual.CreatedAt);
    }

    private static void AssertSameKey(ApiKeyRecord expected, ApiKeyRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Prefix, actual.Prefix);
        Assert.Equal(expected.SecretHash, actual.SecretHash);
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Ledger, actual.Ledger);
        Assert.Equal(expected.Permissions, actual.Permissions);
        Assert.Equal(expected.CreatedAt, actual.CreatedAt);
        Assert.Equal(expected.RevokedAt, actual.RevokedAt);
        Assert.Equal(expected.IsBootstrap, actual.IsBootstrap);
    }

    /// <summary>Compares events by value, byte arrays by content (records compare arrays by reference).</summary>
    private sealed class EventComparer : IEqualityComparer<StoredEvent>
    {
        public static readonly EventComparer Instance = new();

        public bool Equals(StoredEvent? x, StoredEvent? y) =>
            x is not null && y is not null &&
            x.Seq == y.Seq && x.Id == y.Id && x.ReceivedAtMicros == y.ReceivedAtMicros && x.IdempotencyKey == y.IdempotencyKey && x.Leaf.AsSpan().SequenceEqual(y.Leaf) && x.LeafHash.AsSpan().SequenceEqual(y.LeafHash) &&
            x.ChainHash.AsSpan().SequenceEqual(y.ChainHash) &&
            (x.Payload is null ? y.Payload is null : y.Payload is not null && x.Payload.AsSpan().SequenceEqual(y.Payload));

        public int GetHashCode(StoredEvent obj) => obj.Seq.GetHashCode();
    }
}

using Microsoft.Data.Sqlite;
using Stele.Storage.Sqlite;
using static Stele.Storage.Tests.TestData;

namespace Stele.Storage.Tests;

/// <summary>What only the embedded backend has: the index file beside the ledger file, its rebuilds, the upgrade from version 4, and its query shortcuts.</summary>
public sealed class SqliteIndexFileTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "stele-index-tests-" + Guid.NewGuid().ToString("N"));

    private string DatabasePath => Path.Combine(_directory, "stele.db");

    [Fact]
    public async Task A_missing_index_file_is_rebuilt_empty_and_the_events_stay()
    {
        long ledgerId;
        await using (var store = await OpenAsync())
        {
            var ledger = await store.CreateLedgerAsync("main", null, Now, None);
            ledgerId = ledger!.Id;
            await store.AppendIndexedAsync(ledgerId, 0, Events(0, 3, s => Event(s, actor: "alice")), []);
        }

        SqliteConnection.ClearAllPools();
        File.Delete(SqliteSteleStore.IndexPathOf(DatabasePath));

        await using var reopened = await OpenAsync();
        Assert.Equal(0, await reopened.GetIndexedSizeAsync(ledgerId, None));
        Assert.Equal(3, (await reopened.GetHeadAsync(ledgerId, None)).Size);
        Assert.Empty((await reopened.QueryEventsAsync(ledgerId, new EventQuery { ActorId = "alice" }, None)).Events);
    }

    [Fact]
    public async Task An_index_file_that_belongs_to_another_ledger_file_is_rebuilt()
    {
        // The ledger file is replaced (restored from a backup, say) while the index file stays: its
        // cursor names events the new ledger file does not hold, so none of its rows can be trusted.
        var other = Path.Combine(_directory, "other", "stele.db");
        await using (var store = new SqliteSteleStore(other))
        {
            await store.InitializeAsync(None);
            var ledger = await store.CreateLedgerAsync("main", null, Now, None);
            await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, 5, s => Event(s, actor: "mallory", idPrefix: "other")), []);
        }

        long ledgerId;
        await using (var store = await OpenAsync())
        {
            var ledger = await store.CreateLedgerAsync("main", null, Now, None);
            ledgerId = ledger!.Id;
            await store.AppendAsync(ledgerId, 0, Rows(Events(0, 5, s => Event(s, actor: "alice"))), [], None);
        }

        SqliteConnection.ClearAllPools();
        File.Copy(SqliteSteleStore.IndexPathOf(other), SqliteSteleStore.IndexPathOf(DatabasePath), overwrite: true);

        await using var reopened = await OpenAsync();
        Assert.Equal(0, await reopened.GetIndexedSizeAsync(ledgerId, None));
        Assert.Empty((await reopened.QueryEventsAsync(ledgerId, new EventQuery { ActorId = "mallory" }, None)).Events);
    }

    [Fact]
    public async Task The_search_index_is_written_behind_the_others_and_its_cursor_is_durable()
    {
        long ledgerId;
        var events = Events(0, 6, s => Event(s, actor: "alice", search: $"note {s}"));
        await using (var store = await OpenAsync())
        {
            var ledger = await store.CreateLedgerAsync("main", null, Now, None);
            ledgerId = ledger!.Id;
            await store.AppendAsync(ledgerId, 0, Rows(events), [], None);
            Assert.Equal(IndexStatus.Indexed, await store.IndexAsync(ledgerId, 0, events.Select(e => e.Index).ToList(), None));

            Assert.Equal(6, await store.GetIndexedSizeAsync(ledgerId, None));
            Assert.Equal(0, await store.GetSearchIndexedSizeAsync(ledgerId, None));
            await AssertQueryAsync(store, ledgerId, new EventQuery { ActorId = "alice" }, 5, 4, 3, 2, 1, 0);
            await AssertQueryAsync(store, ledgerId, new EventQuery { Search = "note" });
            Assert.Equal(4, await store.IndexSearchAsync(ledgerId, 4, TimeSpan.FromSeconds(10), None));
        }

        SqliteConnection.ClearAllPools();
        await using var reopened = await OpenAsync();
        Assert.Equal(4, await reopened.GetSearchIndexedSizeAsync(ledgerId, None));
        await AssertQueryAsync(reopened, ledgerId, new EventQuery { Search = "NOTE" }, 3, 2, 1, 0);
        Assert.Equal(2, await reopened.IndexSearchAsync(ledgerId, 100, TimeSpan.FromSeconds(10), None));
        await AssertQueryAsync(reopened, ledgerId, new EventQuery { Search = "NOTE" }, 5, 4, 3, 2, 1, 0);
        await AssertQueryAsync(reopened, ledgerId, new EventQuery { Search = "note 5" }, 5);
    }

    [Fact]
    public async Task A_search_transaction_stops_after_the_slice_in_which_its_budget_ran_out()
    {
        await using var store = await OpenAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var count = SqliteSteleStore.SearchSlice + 500;
        var events = Events(0, count, s => Event(s, actor: "alice", search: $"note {s}"));
        await store.AppendAsync(ledger!.Id, 0, Rows(events), [], None);
        Assert.Equal(IndexStatus.Indexed, await store.IndexAsync(ledger.Id, 0, events.Select(e => e.Index).ToList(), None));

        Assert.Equal(SqliteSteleStore.SearchSlice, await store.IndexSearchAsync(ledger.Id, 50_000, TimeSpan.Zero, None));
        Assert.Equal(500, await store.IndexSearchAsync(ledger.Id, 50_000, TimeSpan.FromSeconds(10), None));
        Assert.Equal(0, await store.IndexSearchAsync(ledger.Id, 50_000, TimeSpan.FromSeconds(10), None));
        await AssertQueryAsync(store, ledger.Id, new EventQuery { Search = $"note {count - 1}" }, count - 1);
    }

    [Fact]
    public async Task An_index_file_of_another_layout_version_is_rebuilt()
    {
        long ledgerId;
        await using (var store = await OpenAsync())
        {
            var ledger = await store.CreateLedgerAsync("main", null, Now, None);
            ledgerId = ledger!.Id;
            await store.AppendIndexedAsync(ledgerId, 0, Events(0, 3, s => Event(s, actor: "alice")), []);
        }

        SqliteConnection.ClearAllPools();
        using (var index = new SqliteConnection($"Data Source={SqliteSteleStore.IndexPathOf(DatabasePath)};Pooling=False"))
        {
            index.Open();
            Execute(index, "UPDATE stele_index_schema SET version = 2;");
        }

        await using var reopened = await OpenAsync();
        Assert.Equal(0, await reopened.GetIndexedSizeAsync(ledgerId, None));
        Assert.Equal(0, await reopened.GetSearchIndexedSizeAsync(ledgerId, None));
        Assert.Empty((await reopened.QueryEventsAsync(ledgerId, new EventQuery { ActorId = "alice" }, None)).Events);
    }

    [Fact]
    public async Task A_version_4_database_upgrades_keeping_its_events_and_rebuilds_its_indexes_from_the_start()
    {
        Directory.CreateDirectory(_directory);
        using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            connection.Open();
            Execute(connection, "CREATE TABLE stele_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);");
            for (var v = 0; v < 4; v++)
            {
                Execute(connection, SqliteSchema.Migrations[v]);
            }

            Execute(connection, "INSERT INTO stele_schema (id, version) VALUES (1, 4);");
            Execute(connection, "INSERT INTO ledgers (name, description, created_at) VALUES ('main', NULL, 0);");
            for (var seq = 0; seq < 3; seq++)
            {
                Execute(connection,
                    $"""
                    INSERT INTO events (ledger_id, seq, id, received_at, occurred_at, actor_id, action, action_rev, outcome, idempotency_key, leaf, leaf_hash, chain_hash)
                    VALUES (1, {seq}, 'ev-{seq}', {seq}, {seq}, 'alice', 'user.login', 'nigol.resu', 'success', {(seq == 1 ? "'key-1'" : "NULL")}, x'0{seq}', x'1{seq}', x'2{seq}');
                    INSERT INTO payloads (ledger_id, seq, payload) VALUES (1, {seq}, x'3{seq}');
                    INSERT INTO event_targets (ledger_id, seq, position, type, target_id) VALUES (1, {seq}, 0, 'user', 'u');
                    INSERT INTO event_search (rowid, text) VALUES ({seq + 1}, 'text {seq}');
                    """);
            }
        }

        await using var store = await OpenAsync();

        var stored = await store.GetEventAsync(1, "ev-1", None);
        Assert.NotNull(stored);
        Assert.Equal([(byte)0x01], stored.Leaf);
        Assert.Equal([(byte)0x31], stored.Payload!);
        Assert.Equal("key-1", stored.IdempotencyKey);
        Assert.Equal(3, (await store.GetHeadAsync(1, None)).Size);
        Assert.Single(await store.FindByIdempotencyKeysAsync(1, ["key-1"], None));
        Assert.Equal(0, await store.GetIndexedSizeAsync(1, None));
        Assert.Equal(AppendStatus.Committed, await store.AppendAsync(1, 3, [Event(3).Stored], [], None));

        using var check = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        check.Open();
        Assert.Equal((long)SqliteSchema.CurrentVersion, Scalar(check, "SELECT version FROM stele_schema;"));
        Assert.Equal(0L, Scalar(check, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('event_targets', 'event_search', 'events_by_actor');"));
        Assert.Throws<SqliteException>(() => Execute(check, "DELETE FROM events;"));
    }

    [Fact]
    public async Task An_action_pattern_matching_more_actions_than_are_merged_walks_the_action_index()
    {
        await using var store = await OpenAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var count = SqliteEventQuery.MaxUnionActions + 8;
        await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, count * 2, s => Event(s, action: $"grp{s % count}.verb{(s < count ? "a" : "b")}")), []);

        var page = await store.QueryEventsAsync(ledger.Id, new EventQuery { Action = "grp*.verbb", Limit = 100 }, None);
        Assert.Equal(Enumerable.Range(count, count).Reverse().Select(i => (long)i), page.Events.Select(e => e.Seq));
        page = await store.QueryEventsAsync(ledger.Id, new EventQuery { Action = "grp1*", Limit = 5 }, None);
        Assert.Equal(
            Enumerable.Range(0, count * 2).Where(s => (s % count).ToString(System.Globalization.CultureInfo.InvariantCulture).StartsWith('1')).Reverse().Take(5).Select(i => (long)i),
            page.Events.Select(e => e.Seq));
        Assert.True(page.HasMore);
    }

    [Fact]
    public async Task A_time_range_finds_events_older_than_the_recent_window()
    {
        await using var store = await OpenAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var count = SqliteEventQuery.RecentWindow + 1000;
        await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, count, s => Event(s, occurredAt: s == 10 || s == 500 ? 5 : 1_000 + s)), []);

        await AssertQueryAsync(store, ledger.Id, new EventQuery { ToMicros = 6 }, 500, 10);
        await AssertQueryAsync(store, ledger.Id, new EventQuery { FromMicros = 1_000 + count - 3 }, count - 1, count - 2, count - 3);
        await AssertQueryAsync(store, ledger.Id, new EventQuery { ToMicros = 6, AfterSeq = 500 }, 10);
    }

    private static async Task AssertQueryAsync(ISteleStore store, long ledgerId, EventQuery query, params long[] expected)
    {
        var page = await store.QueryEventsAsync(ledgerId, query, None);
        Assert.Equal(expected, page.Events.Select(e => e.Seq));
        Assert.False(page.HasMore);
    }

    private async Task<SqliteSteleStore> OpenAsync()
    {
        var store = new SqliteSteleStore(DatabasePath);
        await store.InitializeAsync(None);
        return store;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}

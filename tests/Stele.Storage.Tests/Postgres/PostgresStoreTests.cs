using Npgsql;
using Stele.Storage.Postgres;
using static Stele.Storage.Tests.TestData;

namespace Stele.Storage.Tests.Postgres;

/// <summary>What only PostgreSQL has: roles and privileges, triggers against owners and superusers, several nodes on one database, query plans.</summary>
public sealed class PostgresStoreTests : IClassFixture<PostgresDatabaseFixture>
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly string[] GuardedTables = ["events", "payloads", "event_fields", "event_targets", "event_search", "tree_nodes", "checkpoints"];

    private readonly PostgresDatabaseFixture _database;

    public PostgresStoreTests(PostgresDatabaseFixture database)
    {
        _database = database;
    }

    [PostgresFact]
    public async Task The_application_role_can_append_and_read_but_not_change_or_remove()
    {
        var ownerConnection = await _database.CreateSchemaAsync();
        var role = "stele_app_" + Guid.NewGuid().ToString("N")[..8];
        _database.TrackRole(role);
        await PostgresProvisioning.EnsureApplicationRoleAsync(ownerConnection, role, "first-password");
        await PostgresProvisioning.EnsureApplicationRoleAsync(ownerConnection, role, "second-password");

        var appConnection = new NpgsqlConnectionStringBuilder(ownerConnection) { Username = role, Password = "second-password" }.ConnectionString;
        await using var app = new PostgresSteleStore(appConnection);
        await app.InitializeAsync(None);
        await PopulateAsync(app);
        await app.AddApiKeyAsync(new ApiKeyRecord { Id = "k", Prefix = "p", SecretHash = [1], Name = "n", Permissions = ["a"], CreatedAt = Now }, None);
        Assert.True(await app.RevokeApiKeyAsync("k", Now, None));
        Assert.True(await app.TrySetSettingAsync("s", "v", None));
        Assert.Equal(role, await ScalarAsync(app, "SELECT current_user"));

        foreach (var table in GuardedTables)
        {
            foreach (var sql in new[] { $"UPDATE {table} SET ledger_id = ledger_id", $"DELETE FROM {table}", $"TRUNCATE {table}" })
            {
                var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(app, sql));
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
                Assert.Contains("permission denied", error.MessageText, StringComparison.Ordinal);
            }
        }

        foreach (var sql in new[] { "UPDATE ledgers SET name = 'x'", "DELETE FROM api_keys", "UPDATE stele_schema SET version = 0", "CREATE TABLE intruder (id int)" })
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(app, sql));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        }

        Assert.Equal(3, (await app.GetHeadAsync(1, None)).Size);
    }

    [PostgresFact]
    public async Task A_refused_append_writes_nothing_and_leaves_its_connection_usable()
    {
        // One connection in the pool: every append below runs on the same one, so a refused
        // append that left its transaction open or failed would break the next.
        var connection = new NpgsqlConnectionStringBuilder(await _database.CreateSchemaAsync()) { MaxPoolSize = 1 }.ConnectionString;
        await using var store = new PostgresSteleStore(connection);
        await store.InitializeAsync(None);
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        Assert.Equal(AppendStatus.Committed, await store.AppendAsync(ledger!.Id, 0, [Event(0, idempotencyKey: "order-1").Stored], [], None));

        var checkpoint = new StoredCheckpoint(2, Hash("root", 2), Hash("chain", 2), [1, 2, 3], Now);
        var refused = new (long Expected, StoredEvent[] Events, AppendStatus Status)[]
        {
            (0, [Event(0, idPrefix: "behind").Stored, Event(1, idPrefix: "behind").Stored], AppendStatus.SizeConflict),
            (2, [Event(2, idPrefix: "ahead").Stored], AppendStatus.SizeConflict),
            (1, [Event(1, idempotencyKey: "order-1", idPrefix: "again").Stored], AppendStatus.IdempotencyConflict),
        };
        foreach (var (expected, events, status) in refused)
        {
            var batch = new AppendBatch(events, [new StoredTreeNode(8, 0, Hash("node", 0))], expected + events.Length == 2 ? checkpoint : null);
            Assert.Equal(status, await store.AppendAsync(ledger.Id, expected, batch, None));

            // A transaction left open would still hold the transaction id its inserts took (and a
            // failed one would refuse the statement); a statement of its own has none.
            Assert.Equal(true, await ScalarAsync(store, "SELECT pg_current_xact_id_if_assigned() IS NULL"));
        }

        Assert.Equal(1, (await store.GetHeadAsync(ledger.Id, None)).Size);
        Assert.Null(await store.GetLatestCheckpointAsync(ledger.Id, None));
        Assert.Equal(0L, await ScalarAsync(store, "SELECT count(*) FROM tree_nodes"));
        Assert.Equal(1L, await ScalarAsync(store, "SELECT count(*) FROM payloads"));

        var error = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(store, "SELECT stele_expect_size(1, 5)"));
        Assert.Equal(PostgresSchema.SizeConflictState, error.SqlState);
        Assert.Contains("has 1 events, not the 5", error.MessageText, StringComparison.Ordinal);

        Assert.Equal(AppendStatus.Committed, await store.AppendAsync(ledger.Id, 1, [Event(1).Stored], [], None));
        Assert.Equal(2, (await store.GetHeadAsync(ledger.Id, None)).Size);
    }

    [PostgresFact]
    public async Task The_triggers_reject_changes_by_the_table_owner_and_by_a_superuser()
    {
        var owner = await _database.CreateRoleAsync("owner");
        var ownerConnection = await _database.CreateSchemaAsync(owner: owner, username: owner);
        await using var ownerStore = new PostgresSteleStore(ownerConnection);
        await ownerStore.InitializeAsync(None);
        await PopulateAsync(ownerStore);
        var superuserConnection = new NpgsqlConnectionStringBuilder(ownerConnection) { Username = new NpgsqlConnectionStringBuilder(_database.SuperuserConnectionString).Username }.ConnectionString;
        await using var superuserStore = new PostgresSteleStore(superuserConnection);

        Assert.Equal(owner, await ScalarAsync(ownerStore, "SELECT tableowner::text FROM pg_tables WHERE tablename = 'events' AND schemaname = current_schema()"));
        Assert.Equal(true, await ScalarAsync(superuserStore, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"));

        foreach (var store in new[] { ownerStore, superuserStore })
        {
            foreach (var table in PostgresSchema.AppendOnlyTables)
            {
                foreach (var sql in new[] { $"UPDATE {table} SET ledger_id = ledger_id", $"DELETE FROM {table}", $"TRUNCATE {table}" })
                {
                    var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(store, sql));
                    Assert.Contains("append-only", error.MessageText, StringComparison.Ordinal);
                }
            }
        }

        Assert.Equal(3, (await ownerStore.GetHeadAsync(1, None)).Size);
        Assert.Equal(3, ownerStore.ReadPayloads(1, 0, 3).Count(p => p is not null));
    }

    [PostgresFact]
    public async Task The_erasure_escape_hatch_needs_both_the_setting_and_the_maintenance_role()
    {
        var connection = await _database.CreateSchemaAsync();
        await using var store = new PostgresSteleStore(connection);
        await store.InitializeAsync(None);
        await PopulateAsync(store);
        await ExecuteAsync(store,
            $"""
            DO $$ BEGIN CREATE ROLE {PostgresSchema.MaintenanceRole} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
            DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO {PostgresSchema.MaintenanceRole}', current_schema()); END $$;
            GRANT SELECT, DELETE ON payloads TO {PostgresSchema.MaintenanceRole};
            """);
        _database.TrackRole(PostgresSchema.MaintenanceRole);

        string[] refused =
        [
            "SET LOCAL stele.maintenance = 'erasure'; DELETE FROM payloads WHERE seq = 0;",
            $"SET LOCAL ROLE {PostgresSchema.MaintenanceRole}; DELETE FROM payloads WHERE seq = 0;",
            $"SET LOCAL stele.maintenance = 'retention'; SET LOCAL ROLE {PostgresSchema.MaintenanceRole}; DELETE FROM payloads WHERE seq = 0;",
        ];
        foreach (var sql in refused)
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => InTransactionAsync(store, sql, commit: false));
            Assert.Contains("append-only", error.MessageText, StringComparison.Ordinal);
        }

        var deleted = await InTransactionAsync(store, $"SET LOCAL stele.maintenance = 'erasure'; SET LOCAL ROLE {PostgresSchema.MaintenanceRole}; DELETE FROM payloads WHERE seq = 0;", commit: false);
        Assert.Equal(1, deleted);
        Assert.Equal(3, store.ReadPayloads(1, 0, 3).Count(p => p is not null));
    }

    [PostgresFact]
    public async Task Two_nodes_racing_on_one_expected_size_commit_exactly_one_group_per_round()
    {
        var connection = await _database.CreateSchemaAsync();
        await using var nodeA = new PostgresSteleStore(connection);
        await using var nodeB = new PostgresSteleStore(connection);
        await Task.WhenAll(nodeA.InitializeAsync(None), nodeB.InitializeAsync(None));
        var ledger = await nodeA.CreateLedgerAsync("main", null, Now, None);

        for (var round = 0; round < 40; round++)
        {
            var results = await Task.WhenAll(
                Task.Run(() => nodeA.AppendAsync(ledger!.Id, round, [Event(round, idPrefix: "a").Stored], [], None)),
                Task.Run(() => nodeB.AppendAsync(ledger!.Id, round, [Event(round, idPrefix: "b").Stored], [], None)));
            Assert.Equal(1, results.Count(r => r == AppendStatus.Committed));
            Assert.Equal(1, results.Count(r => r == AppendStatus.SizeConflict));
        }

        // Then both nodes append continuously, each reloading its head after a conflict, as the sequencer does.
        async Task<int> AppendManyAsync(PostgresSteleStore node, string prefix, int groups)
        {
            var conflicts = 0;
            for (var committed = 0; committed < groups;)
            {
                var head = await node.GetHeadAsync(ledger!.Id, None);
                var status = await node.AppendAsync(ledger.Id, head.Size, Rows(Events(head.Size, 3, s => Event(s, idPrefix: prefix))), [], None);
                if (status == AppendStatus.Committed)
                {
                    committed++;
                }
                else
                {
                    Assert.Equal(AppendStatus.SizeConflict, status);
                    conflicts++;
                }
            }

            return conflicts;
        }

        await Task.WhenAll(Task.Run(() => AppendManyAsync(nodeA, "a2", 30)), Task.Run(() => AppendManyAsync(nodeB, "b2", 30)));

        var events = new List<StoredEvent>();
        await foreach (var e in nodeB.ReadRangeAsync(ledger!.Id, 0, long.MaxValue, None))
        {
            events.Add(e);
        }

        Assert.Equal(40 + (2 * 30 * 3), events.Count);
        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => (long)i), events.Select(e => e.Seq));
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        Assert.Equal(90, events.Count(e => e.Id.StartsWith("a2-", StringComparison.Ordinal)));
        Assert.Equal(90, events.Count(e => e.Id.StartsWith("b2-", StringComparison.Ordinal)));
        Assert.Equal(events.Count * 32, nodeA.ReadLeafHashes(ledger.Id, 0, events.Count).Length);
    }

    [PostgresFact]
    public async Task Every_event_filter_is_served_by_its_index()
    {
        var connection = await _database.CreateSchemaAsync();
        await using var store = new PostgresSteleStore(connection);
        await store.InitializeAsync(None);
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        await store.AppendIndexedAsync(ledger!.Id, 0, Events(0, 5000, s => Event(
            s,
            action: $"grp{s % 250}.verb{s % 250}",
            actor: $"actor-{s % 400}",
            resource: $"res{s % 300}",
            resourceId: $"rid{s}",
            tenant: $"t{s % 350}",
            session: $"sess{s / 4}",
            country: $"C{s % 200}",
            outcome: s % 1000 == 0 ? "failure" : "success",
            occurredAt: s * 1000L,
            search: s == 1234 ? "the needle in the haystack" : $"ordinary event number {s}",
            targets: [new StoredTarget($"type{s % 300}", $"tid{s}")])), []);
        // What autovacuum does in steady state: statistics, and the GIN pending list merged into the
        // trigram index (fresh inserts wait there; fastupdate stays on so ingestion is not slowed).
        await ExecuteAsync(store, "VACUUM ANALYZE");

        (EventQuery Query, string Index)[] cases =
        [
            (new EventQuery { ActorId = "actor-7" }, "events_by_actor"),
            (new EventQuery { Action = "grp7.verb7" }, "events_by_action"),
            (new EventQuery { Action = "grp7.*" }, "events_by_action"),
            (new EventQuery { Action = "*.verb7" }, "events_by_action_suffix"),
            (new EventQuery { Resource = "res7" }, "events_by_resource"),
            (new EventQuery { ResourceId = "rid7" }, "events_by_resource_id"),
            (new EventQuery { TenantId = "t7" }, "events_by_tenant"),
            (new EventQuery { SessionId = "sess7" }, "events_by_session"),
            (new EventQuery { IpCountry = "C7" }, "events_by_country"),
            (new EventQuery { Outcome = "failure" }, "events_by_outcome"),
            (new EventQuery { FromMicros = 1_000_000, ToMicros = 1_010_000 }, "events_by_occurred_at"),
            (new EventQuery { TargetType = "type7" }, "event_targets_by_type"),
            (new EventQuery { TargetId = "tid7" }, "event_targets_by_id"),
            (new EventQuery { Search = "NEEDLE" }, "event_search_by_trigram"),
        ];

        // With sequential scans disabled the planner still falls back to one when no index can serve
        // a filter, so "no Seq Scan, the named index used" proves the index serves it. (On a few
        // thousand rows a sequential scan is legitimately cheaper; at size the indexes win on cost.)
        await using var raw = await store.DataSource.OpenConnectionAsync();
        await using (var disable = new NpgsqlCommand("SET enable_seqscan = off", raw))
        {
            await disable.ExecuteNonQueryAsync();
        }

        foreach (var (query, index) in cases)
        {
            await using var command = PostgresSteleStore.CreateQueryCommand(raw, ledger.Id, query);
            command.CommandText = "EXPLAIN " + command.CommandText;
            var plan = new List<string>();
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    plan.Add(reader.GetString(0));
                }
            }

            var text = string.Join('\n', plan);
            Assert.True(text.Contains(index, StringComparison.Ordinal), $"{query} should use {index}; plan:\n{text}");
            Assert.DoesNotContain("Seq Scan", text, StringComparison.Ordinal);
        }

        Assert.Equal([1234L], (await store.QueryEventsAsync(ledger.Id, new EventQuery { Search = "NEEDLE" }, None)).Events.Select(e => e.Seq));
    }

    [PostgresFact]
    public async Task Nodes_starting_together_migrate_the_schema_once()
    {
        var connection = await _database.CreateSchemaAsync();
        var stores = Enumerable.Range(0, 4).Select(_ => new PostgresSteleStore(connection)).ToList();
        try
        {
            await Task.WhenAll(stores.Select(s => Task.Run(() => s.InitializeAsync(None))));
            Assert.Equal(PostgresSchema.CurrentVersion, await ScalarAsync(stores[0], "SELECT version FROM stele_schema"));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [PostgresFact]
    public async Task A_version_4_database_upgrades_with_its_index_rows_and_cursor()
    {
        var connection = await _database.CreateSchemaAsync();
        var v4 = new System.Text.StringBuilder("CREATE TABLE stele_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL);");
        for (var v = 0; v < 4; v++)
        {
            v4.Append(PostgresSchema.Migrations[v]);
        }

        v4.Append("INSERT INTO stele_schema (id, version) VALUES (1, 4); INSERT INTO ledgers (name, description, created_at) VALUES ('main', NULL, 0);");
        for (var seq = 0; seq < 3; seq++)
        {
            v4.Append(System.Globalization.CultureInfo.InvariantCulture,
                $"""
                INSERT INTO events (ledger_id, seq, id, received_at, occurred_at, actor_id, action, action_rev, outcome, idempotency_key, leaf, leaf_hash, chain_hash)
                VALUES (1, {seq}, 'ev-{seq}', {seq}, {seq * 100}, 'alice', 'user.login', 'nigol.resu', 'success', {(seq == 1 ? "'key-1'" : "NULL")}, '\x0{seq}', '\x1{seq}', '\x2{seq}');
                INSERT INTO payloads (ledger_id, seq, payload) VALUES (1, {seq}, '\x3{seq}');
                INSERT INTO event_targets (ledger_id, seq, position, type, target_id) VALUES (1, {seq}, 0, 'user', 'u{seq}');
                INSERT INTO event_search (ledger_id, seq, text) VALUES (1, {seq}, 'text {seq}');
                """);
        }

        await PostgresDatabaseFixture.ExecuteAsync(connection, v4.ToString());

        await using var store = new PostgresSteleStore(connection);
        await store.InitializeAsync(None);

        Assert.Equal(PostgresSchema.CurrentVersion, await ScalarAsync(store, "SELECT version FROM stele_schema"));
        Assert.Equal(3, await store.GetIndexedSizeAsync(1, None));
        Assert.Equal([2L, 1L, 0L], (await store.QueryEventsAsync(1, new EventQuery { ActorId = "alice" }, None)).Events.Select(e => e.Seq));
        Assert.Equal([1L], (await store.QueryEventsAsync(1, new EventQuery { TargetId = "u1" }, None)).Events.Select(e => e.Seq));
        Assert.Equal([2L], (await store.QueryEventsAsync(1, new EventQuery { Search = "TEXT 2" }, None)).Events.Select(e => e.Seq));
        Assert.Equal([1L], (await store.QueryEventsAsync(1, new EventQuery { FromMicros = 100, ToMicros = 200 }, None)).Events.Select(e => e.Seq));
        var stored = await store.GetEventAsync(1, "ev-1", None);
        Assert.Equal("key-1", stored!.IdempotencyKey);
        Assert.Equal([(byte)0x31], stored.Payload!);

        // Ingestion and indexing go on from there.
        var next = Event(3, actor: "alice");
        Assert.Equal(AppendStatus.Committed, await store.AppendIndexedAsync(1, 3, [next], []));
        Assert.Equal(4, (await store.QueryEventsAsync(1, new EventQuery { ActorId = "alice" }, None)).Events.Count);
    }

    /// <summary>Ledger 1 with three events carrying payloads, targets and search text, a tree node and a checkpoint.</summary>
    private static async Task PopulateAsync(PostgresSteleStore store)
    {
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        Assert.Equal(1, ledger!.Id);
        var status = await store.AppendIndexedAsync(ledger.Id, 0,
            Events(0, 3, s => Event(s, search: $"text {s}", targets: [new StoredTarget("user", $"u{s}")])),
            [new StoredTreeNode(8, 0, Hash("node", 0))]);
        Assert.Equal(AppendStatus.Committed, status);
        await store.AddCheckpointAsync(ledger.Id, new StoredCheckpoint(3, Hash("root", 3), null, [1], Now), None);
    }

    private static async Task<int> ExecuteAsync(PostgresSteleStore store, string sql)
    {
        await using var command = store.DataSource.CreateCommand(sql);
        return await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(PostgresSteleStore store, string sql)
    {
        await using var command = store.DataSource.CreateCommand(sql);
        return await command.ExecuteScalarAsync();
    }

    private static async Task<int> InTransactionAsync(PostgresSteleStore store, string sql, bool commit)
    {
        await using var connection = await store.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var affected = 0;
        foreach (var statement in sql.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            await using var command = new NpgsqlCommand(statement, connection, transaction);
            affected = await command.ExecuteNonQueryAsync();
        }

        if (commit)
        {
            await transaction.CommitAsync();
        }
        else
        {
            await transaction.RollbackAsync();
        }

        return affected;
    }
}

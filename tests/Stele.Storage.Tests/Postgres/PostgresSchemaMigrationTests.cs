using Npgsql;
using Stele.Storage.Postgres;

namespace Stele.Storage.Tests.Postgres;

/// <summary>
/// The upgrade from schema version 1 on real PostgreSQL: ledgers, payloads, tree nodes, checkpoints,
/// keys and settings are written by a current store in one schema and copied into another that
/// migration 1 alone created; the events are written there as version 1 wrote them.
/// </summary>
[RequiresPostgres]
public sealed class PostgresSchemaMigrationTests(PostgresDatabaseFixture database) : SchemaMigrationTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly Dictionary<ISteleStore, string> _connectionStrings = [];

    protected override int CurrentVersion => PostgresSchema.CurrentVersion;

    /// <summary>Version 5 copies the query columns to event_fields and keeps the target and search rows.</summary>
    protected override bool KeepsVersionOneIndexRows => true;

    protected override async Task<ISteleStore> CreateVersionOneDatabaseAsync(Func<ISteleStore, Task<long>> fill, IReadOnlyList<VersionOneEvent> events)
    {
        var sourceConnection = await database.CreateSchemaAsync();
        var source = SchemaOf(sourceConnection);
        long ledgerId;
        await using (var current = new PostgresSteleStore(sourceConnection))
        {
            await current.InitializeAsync(CancellationToken.None);
            ledgerId = await fill(current);
        }

        var connectionString = await database.CreateSchemaAsync();
        var target = SchemaOf(connectionString);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await ExecuteAsync(connection, transaction, "CREATE TABLE stele_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL); INSERT INTO stele_schema VALUES (1, 1);");
        await ExecuteAsync(connection, transaction, PostgresSchema.Migrations[0]);

        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            """
            SELECT table_name FROM information_schema.tables
            WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name NOT IN ('stele_schema', 'events', 'event_targets', 'event_search')
            ORDER BY table_name <> 'ledgers', table_name;
            """,
            connection, transaction))
        {
            list.Parameters.Add(new NpgsqlParameter { Value = target });
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        foreach (var table in tables)
        {
            var columns = new List<string>();
            var identity = false;
            await using (var describe = new NpgsqlCommand(
                "SELECT column_name, is_identity FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position;",
                connection, transaction))
            {
                describe.Parameters.Add(new NpgsqlParameter { Value = target });
                describe.Parameters.Add(new NpgsqlParameter { Value = table });
                await using var reader = await describe.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    columns.Add(reader.GetString(0));
                    identity |= reader.GetString(1) == "YES";
                }
            }

            var list = string.Join(", ", columns);
            await ExecuteAsync(connection, transaction,
                $"INSERT INTO {target}.{table} ({list}) {(identity ? "OVERRIDING SYSTEM VALUE " : string.Empty)}SELECT {list} FROM {source}.{table};");
        }

        await InsertVersionOneEventsAsync(connection, transaction, ledgerId, events);

        // What the older code's inserts would have left: the identity sequence past the copied ids.
        await ExecuteAsync(connection, transaction, $"SELECT setval(pg_get_serial_sequence('{target}.ledgers', 'id'), (SELECT max(id) FROM {target}.ledgers));");
        await transaction.CommitAsync();

        var store = new PostgresSteleStore(connectionString);
        _connectionStrings[store] = connectionString;
        return store;
    }

    protected override async Task<int> ReadSchemaVersionAsync(ISteleStore store)
    {
        await using var command = ((PostgresSteleStore)store).DataSource.CreateCommand("SELECT version FROM stele_schema WHERE id = 1;");
        return (int)(await command.ExecuteScalarAsync())!;
    }

    protected override async Task<ISteleStore> ReopenAsync(ISteleStore store)
    {
        var again = new PostgresSteleStore(_connectionStrings[store]);
        _connectionStrings[again] = _connectionStrings[store];
        await again.InitializeAsync(CancellationToken.None);
        return again;
    }

    /// <summary>The events as version 1 wrote them: the row with its query columns, a row per target, and a search row.</summary>
    private static async Task InsertVersionOneEventsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long ledgerId, IReadOnlyList<VersionOneEvent> events)
    {
        foreach (var (stored, index) in events)
        {
            await using (var insertEvent = new NpgsqlCommand(
                """
                INSERT INTO events (ledger_id, seq, id, received_at, occurred_at, actor_id, action, action_rev, resource, resource_id,
                    tenant_id, session_id, ip_country, outcome, idempotency_key, leaf, leaf_hash, chain_hash)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18);
                """, connection, transaction))
            {
                object?[] values =
                [
                    ledgerId, stored.Seq, stored.Id, stored.ReceivedAtMicros, index.OccurredAtMicros, index.ActorId, index.Action, ReversedAction(index),
                    index.Resource, index.ResourceId, index.TenantId, index.SessionId, index.IpCountry, index.Outcome, stored.IdempotencyKey,
                    stored.Leaf, stored.LeafHash, stored.ChainHash,
                ];
                foreach (var value in values)
                {
                    insertEvent.Parameters.Add(value is null ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text } : new NpgsqlParameter { Value = value });
                }

                await insertEvent.ExecuteNonQueryAsync();
            }

            for (var position = 0; position < index.Targets.Count; position++)
            {
                await using var insertTarget = new NpgsqlCommand(
                    "INSERT INTO event_targets (ledger_id, seq, position, type, target_id) VALUES ($1, $2, $3, $4, $5);", connection, transaction);
                insertTarget.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
                insertTarget.Parameters.Add(new NpgsqlParameter { Value = stored.Seq });
                insertTarget.Parameters.Add(new NpgsqlParameter { Value = position });
                insertTarget.Parameters.Add(new NpgsqlParameter { Value = index.Targets[position].Type });
                insertTarget.Parameters.Add(new NpgsqlParameter { Value = (object?)index.Targets[position].Id ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                await insertTarget.ExecuteNonQueryAsync();
            }

            if (index.SearchText is not null)
            {
                await using var insertSearch = new NpgsqlCommand("INSERT INTO event_search (ledger_id, seq, text) VALUES ($1, $2, $3);", connection, transaction);
                insertSearch.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
                insertSearch.Parameters.Add(new NpgsqlParameter { Value = stored.Seq });
                insertSearch.Parameters.Add(new NpgsqlParameter { Value = index.SearchText });
                await insertSearch.ExecuteNonQueryAsync();
            }
        }
    }

    private static string SchemaOf(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString).SearchPath!.Split(',')[0];

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync();
    }
}

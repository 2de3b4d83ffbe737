using System.Globalization;
using Microsoft.Data.Sqlite;
using Stele.Storage.Sqlite;

namespace Stele.Storage.Tests;

/// <summary>The upgrade from schema version 1 on the embedded backend.</summary>
public sealed class SqliteSchemaMigrationTests : SchemaMigrationTests, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "stele-migration-tests-" + Guid.NewGuid().ToString("N"));

    protected override int CurrentVersion => SqliteSchema.CurrentVersion;

    /// <summary>Version 5 moved the query indexes to the index file, which starts empty and is rebuilt from the leaves.</summary>
    protected override bool KeepsVersionOneIndexRows => false;

    protected override async Task<ISteleStore> CreateVersionOneDatabaseAsync(Func<ISteleStore, Task<long>> fill, IReadOnlyList<VersionOneEvent> events)
    {
        var source = Path.Combine(_directory, "current.db");
        long ledgerId;
        await using (var current = new SqliteSteleStore(source))
        {
            await current.InitializeAsync(CancellationToken.None);
            ledgerId = await fill(current);
        }

        var path = Path.Combine(_directory, "v1.db");
        await using var db = Open(path);
        Execute(db, "CREATE TABLE stele_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL); INSERT INTO stele_schema VALUES (1, 1);");
        Execute(db, SqliteSchema.Migrations[0]);
        Execute(db, $"ATTACH DATABASE '{source.Replace("'", "''", StringComparison.Ordinal)}' AS current;");
        using var transaction = db.BeginTransaction();
        foreach (var table in Tables(db))
        {
            var columns = string.Join(", ", Columns(db, table));
            Execute(db, $"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM current.{table};", transaction);
        }

        InsertVersionOneEvents(db, transaction, ledgerId, events);
        transaction.Commit();
        Execute(db, "DETACH DATABASE current;");
        return new SqliteSteleStore(path);
    }

    protected override async Task<int> ReadSchemaVersionAsync(ISteleStore store)
    {
        await using var db = Open(((SqliteSteleStore)store).DatabasePath);
        using var command = db.CreateCommand();
        command.CommandText = "SELECT version FROM stele_schema WHERE id = 1;";
        return Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    protected override async Task<ISteleStore> ReopenAsync(ISteleStore store)
    {
        var again = new SqliteSteleStore(((SqliteSteleStore)store).DatabasePath);
        await again.InitializeAsync(CancellationToken.None);
        return again;
    }

    /// <summary>
    /// The events as version 1 wrote them: the row with its query columns, a row per target, and the
    /// search text in the full-text table under the event's rowid.
    /// </summary>
    private static void InsertVersionOneEvents(SqliteConnection db, SqliteTransaction transaction, long ledgerId, IReadOnlyList<VersionOneEvent> events)
    {
        using var insertEvent = db.CreateCommand();
        insertEvent.Transaction = transaction;
        insertEvent.CommandText =
            """
            INSERT INTO events (ledger_id, seq, id, received_at, occurred_at, actor_id, action, action_rev, resource, resource_id,
                tenant_id, session_id, ip_country, outcome, idempotency_key, leaf, leaf_hash, chain_hash)
            VALUES ($ledger, $seq, $id, $received_at, $occurred_at, $actor_id, $action, $action_rev, $resource, $resource_id,
                $tenant_id, $session_id, $ip_country, $outcome, $idempotency_key, $leaf, $leaf_hash, $chain_hash)
            RETURNING rowid;
            """;
        using var insertTarget = db.CreateCommand();
        insertTarget.Transaction = transaction;
        insertTarget.CommandText = "INSERT INTO event_targets (ledger_id, seq, position, type, target_id) VALUES ($ledger, $seq, $position, $type, $target_id);";
        using var insertSearch = db.CreateCommand();
        insertSearch.Transaction = transaction;
        insertSearch.CommandText = "INSERT INTO event_search (rowid, text) VALUES ($rowid, $text);";
        foreach (var (stored, index) in events)
        {
            insertEvent.Parameters.Clear();
            insertEvent.Parameters.AddWithValue("$ledger", ledgerId);
            insertEvent.Parameters.AddWithValue("$seq", stored.Seq);
            insertEvent.Parameters.AddWithValue("$id", stored.Id);
            insertEvent.Parameters.AddWithValue("$received_at", stored.ReceivedAtMicros);
            insertEvent.Parameters.AddWithValue("$occurred_at", index.OccurredAtMicros);
            insertEvent.Parameters.AddWithValue("$actor_id", index.ActorId);
            insertEvent.Parameters.AddWithValue("$action", index.Action);
            insertEvent.Parameters.AddWithValue("$action_rev", ReversedAction(index));
            insertEvent.Parameters.AddWithValue("$resource", (object?)index.Resource ?? DBNull.Value);
            insertEvent.Parameters.AddWithValue("$resource_id", (object?)index.ResourceId ?? DBNull.Value);
            insertEvent.Parameters.AddWithValue("$tenant_id", (object?)index.TenantId ?? DBNull.Value);
            insertEvent.Parameters.AddWithValue("$session_id", (object?)index.SessionId ?? DBNull.Value);
            insertEvent.Parameters.AddWithValue("$ip_country", (object?)index.IpCountry ?? DBNull.Value);
            insertEvent.Parameters.AddWithValue("$outcome", index.Outcome);
            insertEvent.Parameters.AddWithValue("$idempotency_key", (object?)stored.IdempotencyKey ?? DBNull.Value);
            insertEvent.Parameters.AddWithValue("$leaf", stored.Leaf);
            insertEvent.Parameters.AddWithValue("$leaf_hash", stored.LeafHash);
            insertEvent.Parameters.AddWithValue("$chain_hash", stored.ChainHash);
            var rowid = Convert.ToInt64(insertEvent.ExecuteScalar(), CultureInfo.InvariantCulture);

            for (var position = 0; position < index.Targets.Count; position++)
            {
                insertTarget.Parameters.Clear();
                insertTarget.Parameters.AddWithValue("$ledger", ledgerId);
                insertTarget.Parameters.AddWithValue("$seq", stored.Seq);
                insertTarget.Parameters.AddWithValue("$position", position);
                insertTarget.Parameters.AddWithValue("$type", index.Targets[position].Type);
                insertTarget.Parameters.AddWithValue("$target_id", (object?)index.Targets[position].Id ?? DBNull.Value);
                insertTarget.ExecuteNonQuery();
            }

            if (index.SearchText is not null)
            {
                insertSearch.Parameters.Clear();
                insertSearch.Parameters.AddWithValue("$rowid", rowid);
                insertSearch.Parameters.AddWithValue("$text", index.SearchText);
                insertSearch.ExecuteNonQuery();
            }
        }
    }

    /// <summary>
    /// The ordinary tables migration 1 created whose rows a current store writes the same way; the
    /// event tables (events, targets, the full-text table and its shadow tables) are written directly.
    /// Ledgers first, for the foreign keys.
    /// </summary>
    private static List<string> Tables(SqliteConnection db)
    {
        using var command = db.CreateCommand();
        command.CommandText =
            """
            SELECT name FROM main.sqlite_master
            WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'event_search%'
                AND name NOT IN ('stele_schema', 'events', 'event_targets')
            ORDER BY name <> 'ledgers', name;
            """;
        using var reader = command.ExecuteReader();
        var tables = new List<string>();
        while (reader.Read())
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }

    private static List<string> Columns(SqliteConnection db, string table)
    {
        using var command = db.CreateCommand();
        command.CommandText = $"SELECT name FROM pragma_table_info('{table}', 'main') ORDER BY cid;";
        using var reader = command.ExecuteReader();
        var columns = new List<string>();
        while (reader.Read())
        {
            columns.Add(reader.GetString(0));
        }

        return columns;
    }

    private static SqliteConnection Open(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var db = new SqliteConnection($"Data Source={path};Pooling=False");
        db.Open();
        return db;
    }

    private static void Execute(SqliteConnection db, string sql, SqliteTransaction? transaction = null)
    {
        using var command = db.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
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

using System.Globalization;
using Microsoft.Data.Sqlite;
using Stele.Storage.Sqlite;

namespace Stele.Storage.Tests;

/// <summary>The upgrade from schema version 1 on the embedded backend.</summary>
public sealed class SqliteSchemaMigrationTests : SchemaMigrationTests, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "stele-migration-tests-" + Guid.NewGuid().ToString("N"));

    protected override int CurrentVersion => SqliteSchema.CurrentVersion;

    protected override async Task<ISteleStore> CreateVersionOneDatabaseAsync(Func<ISteleStore, Task> fill)
    {
        var source = Path.Combine(_directory, "current.db");
        await using (var current = new SqliteSteleStore(source))
        {
            await current.InitializeAsync(CancellationToken.None);
            await fill(current);
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
            // events keeps its rowid: the full-text index refers to events by rowid.
            var rowid = table == "events" ? "rowid, " : string.Empty;
            Execute(db, $"INSERT INTO main.{table} ({rowid}{columns}) SELECT {rowid}{columns} FROM current.{table};", transaction);
        }

        Execute(db, "INSERT INTO main.event_search (rowid, text) SELECT rowid, text FROM current.event_search;", transaction);
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

    /// <summary>The ordinary tables migration 1 created (the full-text table and its shadow tables are copied separately); ledgers first, for the foreign keys.</summary>
    private static List<string> Tables(SqliteConnection db)
    {
        using var command = db.CreateCommand();
        command.CommandText =
            "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'event_search%' AND name <> 'stele_schema' ORDER BY name <> 'ledgers', name;";
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

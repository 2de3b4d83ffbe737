using Microsoft.Data.Sqlite;

namespace Stele.Server.Tests;

/// <summary>
/// A stopped test server's SQLite ledger file, opened to tamper with it as an attacker with file
/// access would: the append-only triggers of the integrity tables are dropped first (the server
/// creates them again when it starts).
/// </summary>
internal sealed class TamperedLedgerFile : IDisposable
{
    private static readonly string[] Tables = ["events", "payloads", "tree_nodes", "checkpoints"];
    private readonly SqliteConnection _db;

    public TamperedLedgerFile(string path)
    {
        _db = new SqliteConnection($"Data Source={path};Pooling=False");
        _db.Open();
        foreach (var table in Tables)
        {
            Execute($"DROP TRIGGER IF EXISTS {table}_no_update; DROP TRIGGER IF EXISTS {table}_no_delete;");
        }
    }

    /// <summary>The id of the ledger named "default".</summary>
    public long DefaultLedgerId => (long)Scalar("SELECT id FROM ledgers WHERE name = 'default'")!;

    /// <summary>Runs <paramref name="sql"/>, with <paramref name="value"/> as <c>$v</c> if given; returns the rows changed.</summary>
    public int Execute(string sql, byte[]? value = null)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        if (value is not null)
        {
            command.Parameters.AddWithValue("$v", value);
        }

        return command.ExecuteNonQuery();
    }

    public object? Scalar(string sql)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public void Dispose() => _db.Dispose();
}

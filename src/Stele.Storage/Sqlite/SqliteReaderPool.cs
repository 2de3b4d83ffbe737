using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Stele.Storage.Sqlite;

/// <summary>
/// Read connections to the ledger file with the index file attached as <c>ix</c>, kept open and
/// reused. Opening a connection and attaching a file costs more than most reads, and the attachment
/// must be known to exist, which the driver's own pool cannot promise. Readers never block the
/// writers (WAL), and <c>query_only</c> makes sure they never write.
/// </summary>
internal sealed class SqliteReaderPool : IDisposable
{
    private const int MaxIdle = 32;

    private readonly string _connectionString;
    private readonly string _indexPath;
    private readonly ConcurrentBag<SqliteConnection> _idle = [];
    private int _disposed;

    public SqliteReaderPool(string databasePath, string indexPath)
    {
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWrite,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();
        _indexPath = indexPath;
    }

    public Lease Rent()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        return new Lease(this, _idle.TryTake(out var connection) ? connection : Open());
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "ATTACH DATABASE $path AS ix; PRAGMA query_only = 1;";
            command.Parameters.AddWithValue("$path", _indexPath);
            command.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void Return(SqliteConnection connection)
    {
        if (Volatile.Read(ref _disposed) == 1 || _idle.Count >= MaxIdle)
        {
            connection.Dispose();
            return;
        }

        _idle.Add(connection);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        while (_idle.TryTake(out var connection))
        {
            connection.Dispose();
        }
    }

    /// <summary>A rented connection; disposing it returns the connection to the pool.</summary>
    public readonly struct Lease(SqliteReaderPool pool, SqliteConnection connection) : IDisposable, IAsyncDisposable
    {
        public SqliteConnection Connection { get; } = connection;

        public static implicit operator SqliteConnection(Lease lease) => lease.Connection;

        public SqliteCommand CreateCommand() => Connection.CreateCommand();

        public void Dispose() => pool.Return(Connection);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

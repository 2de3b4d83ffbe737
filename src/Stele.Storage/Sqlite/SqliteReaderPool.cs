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

    /// <summary>How long a read waits out a busy database.</summary>
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly string _connectionString;
    private readonly string _indexPath;
    private readonly ConcurrentBag<Reader> _idle = [];
    private int _disposed;

    public SqliteReaderPool(string databasePath, string indexPath)
    {
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWrite,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = (int)Timeout.TotalSeconds,
        }.ToString();
        _indexPath = indexPath;
    }

    internal Lease Rent()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        return new Lease(this, _idle.TryTake(out var reader) ? reader : new Reader(Open()));
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

    private void Return(Reader reader)
    {
        if (Volatile.Read(ref _disposed) == 1 || _idle.Count >= MaxIdle)
        {
            reader.Dispose();
            return;
        }

        _idle.Add(reader);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        while (_idle.TryTake(out var reader))
        {
            reader.Dispose();
        }
    }

    /// <summary>A connection and the statements prepared on it, kept while the connection lives.</summary>
    internal sealed class Reader(SqliteConnection connection) : IDisposable
    {
        private const int MaxPrepared = 64;
        private readonly Dictionary<string, SqliteCommand> _prepared = new(StringComparer.Ordinal);

        public SqliteConnection Connection { get; } = connection;

        public SqliteCommand Prepared(string sql)
        {
            if (!_prepared.TryGetValue(sql, out var command))
            {
                if (_prepared.Count >= MaxPrepared)
                {
                    DisposePrepared();
                }

                command = Connection.CreateCommand();
                command.CommandText = sql;
                _prepared[sql] = command;
            }

            return command;
        }

        public void Dispose()
        {
            DisposePrepared();
            Connection.Dispose();
        }

        private void DisposePrepared()
        {
            foreach (var command in _prepared.Values)
            {
                command.Dispose();
            }

            _prepared.Clear();
        }
    }

    /// <summary>A rented connection; disposing it returns the connection to the pool.</summary>
    public readonly struct Lease : IDisposable, IAsyncDisposable
    {
        private readonly SqliteReaderPool _pool;
        private readonly Reader _reader;

        internal Lease(SqliteReaderPool pool, Reader reader)
        {
            _pool = pool;
            _reader = reader;
        }

        public SqliteConnection Connection => _reader.Connection;

        public static implicit operator SqliteConnection(Lease lease) => lease.Connection;

        public SqliteCommand CreateCommand() => Connection.CreateCommand();

        /// <summary>
        /// A command for <paramref name="sql"/> kept prepared on this connection: SQLite parses and plans it
        /// once, not on every call. Not to be disposed; set its parameters with <see cref="SqliteCommandParameters.Set"/>.
        /// </summary>
        public SqliteCommand Prepared(string sql) => _reader.Prepared(sql);

        public void Dispose() => _pool.Return(_reader);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

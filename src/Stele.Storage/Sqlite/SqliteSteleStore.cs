using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using Stele.Core.Verification;

namespace Stele.Storage.Sqlite;

/// <summary>
/// The embedded backend: one SQLite ledger file in WAL mode with <c>synchronous=FULL</c>, so a commit
/// returns only after the write-ahead log is fsync'd. All writes go through one connection
/// (SQLite has one writer at a time anyway); reads use pooled connections and never block it.
/// The query indexes live in a second file beside it (<see cref="SqliteIndexSchema"/>), written by
/// their own connection without waiting for an fsync, so maintaining them never holds the ledger
/// file's write lock.
/// </summary>
public sealed partial class SqliteSteleStore : ISteleStore
{
    private const int ReadPageSize = 1000;

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Dictionary<string, SqliteCommand> _writerCommands = new(StringComparer.Ordinal);
    private SqliteConnection? _writer;
    private SqliteReaderPool? _readers;
    private int _disposed;

    public SqliteSteleStore(string databasePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        DatabasePath = Path.GetFullPath(databasePath);
        IndexPath = IndexPathOf(DatabasePath);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string DatabasePath { get; }

    /// <summary>The index file beside the ledger file: derived data, rebuilt when missing.</summary>
    public string IndexPath { get; }

    public string Backend => "sqlite";

    /// <summary><c>stele.db</c> → <c>stele-index.db</c>.</summary>
    public static string IndexPathOf(string databasePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(databasePath);
        var full = Path.GetFullPath(databasePath);
        return Path.Combine(Path.GetDirectoryName(full) ?? ".", Path.GetFileNameWithoutExtension(full) + "-index" + Path.GetExtension(full));
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(DatabasePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var writer = new SqliteConnection(_connectionString);
        await writer.OpenAsync(cancellationToken).ConfigureAwait(false);
        // The default page cache: appends touch only the right-hand edge of the events, payload and id
        // trees, and a 64 MiB cache measured within noise of it while costing its size in RSS at
        // 10,000,000 events (docs/BENCHMARKS.md).
        Execute(writer, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");

        Execute(writer, "CREATE TABLE IF NOT EXISTS stele_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);");
        var version = Convert.ToInt32(
            Scalar(writer, "SELECT COALESCE((SELECT version FROM stele_schema WHERE id = 1), 0);") ?? 0,
            CultureInfo.InvariantCulture);
        if (version > SqliteSchema.CurrentVersion)
        {
            writer.Dispose();
            throw new StorageVersionException(
                $"The database {DatabasePath} has schema version {version}; this Stele understands up to {SqliteSchema.CurrentVersion}. Upgrade Stele.");
        }

        for (var v = version; v < SqliteSchema.CurrentVersion; v++)
        {
            using var transaction = writer.BeginTransaction();
            Execute(writer, SqliteSchema.Migrations[v], transaction);
            Execute(writer, $"INSERT INTO stele_schema (id, version) VALUES (1, {v + 1}) ON CONFLICT (id) DO UPDATE SET version = excluded.version;", transaction);
            transaction.Commit();
        }

        Execute(writer, SqliteSchema.AppendOnlyTriggers());
        try
        {
            OpenIndexFile(writer);
        }
        catch
        {
            writer.Dispose();
            throw;
        }

        var previous = Interlocked.Exchange(ref _readers, new SqliteReaderPool(DatabasePath, IndexPath));
        previous?.Dispose();
        foreach (var command in _writerCommands.Values)
        {
            command.Dispose();
        }

        _writerCommands.Clear();
        var old = Interlocked.Exchange(ref _writer, writer);
        old?.Dispose();
    }

    public async Task<LedgerInfo?> FindLedgerAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var command = connection.Prepared("SELECT id, name, description, created_at FROM ledgers WHERE name = $name;");
        command.Set("$name", name);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadLedger(reader) : null;
    }

    public async Task<IReadOnlyList<LedgerInfo>> ListLedgersAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var command = connection.Prepared("SELECT id, name, description, created_at FROM ledgers ORDER BY name;");
        using var reader = command.ExecuteReader();
        var result = new List<LedgerInfo>();
        while (reader.Read())
        {
            result.Add(ReadLedger(reader));
        }

        return result;
    }

    public async Task<LedgerInfo?> CreateLedgerAsync(string name, string? description, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = Writer.CreateCommand();
            command.CommandText =
                "INSERT INTO ledgers (name, description, created_at) VALUES ($name, $description, $created_at) ON CONFLICT (name) DO NOTHING RETURNING id;";
            command.Parameters.AddWithValue("$name", name);
            command.Parameters.AddWithValue("$description", (object?)description ?? DBNull.Value);
            command.Parameters.AddWithValue("$created_at", Micros(now));
            var id = command.ExecuteScalar();
            return id is null ? null : new LedgerInfo((long)id, name, description, FromMicros(Micros(now)));
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<LedgerHead> GetHeadAsync(long ledgerId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var command = connection.Prepared("SELECT seq, chain_hash FROM events WHERE ledger_id = $ledger ORDER BY seq DESC LIMIT 1;");
        command.Set("$ledger", ledgerId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? new LedgerHead(reader.GetInt64(0) + 1, (byte[])reader[1]) : new LedgerHead(0, null);
    }

    public Task<AppendStatus> AppendAsync(long ledgerId, long expectedSize, IReadOnlyList<StoredEvent> events, IReadOnlyList<StoredTreeNode> nodes, CancellationToken cancellationToken) =>
        AppendAsync(ledgerId, expectedSize, new AppendBatch(events, nodes), cancellationToken);

    public async Task<AppendStatus> AppendAsync(long ledgerId, long expectedSize, AppendBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var (events, nodes) = (batch.Events, batch.Nodes);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(nodes);
        if (events.Count == 0)
        {
            return AppendStatus.Committed;
        }

        batch.CheckCheckpointEndsBatch();

        // Once the transaction has begun it must finish even if the caller gives up: a half-done
        // group commit would leave the sequencer unsure what is durable.
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // BEGIN IMMEDIATE: the write lock is taken before the size check, so the check holds
            // until commit even if another process opened the same file.
            using var transaction = Writer.BeginTransaction(deferred: false);
            var size = WriterCommand(transaction, "SELECT COALESCE(MAX(seq) + 1, 0) FROM events WHERE ledger_id = $ledger;", "$ledger");
            size.Parameters[0].Value = ledgerId;
            if ((long)size.ExecuteScalar()! != expectedSize)
            {
                return AppendStatus.SizeConflict;
            }

            var insertEvent = WriterCommand(
                transaction,
                """
                INSERT INTO events (ledger_id, seq, id, received_at, idempotency_key, leaf, leaf_hash, chain_hash)
                VALUES ($ledger, $seq, $id, $received_at, $idempotency_key, $leaf, $leaf_hash, $chain_hash);
                """,
                "$ledger", "$seq", "$id", "$received_at", "$idempotency_key", "$leaf", "$leaf_hash", "$chain_hash");
            var p = insertEvent.Parameters;
            p[0].Value = ledgerId;
            var insertPayload = WriterCommand(transaction, "INSERT INTO payloads (ledger_id, seq, payload) VALUES ($ledger, $seq, $payload);", "$ledger", "$seq", "$payload");
            insertPayload.Parameters[0].Value = ledgerId;

            foreach (var e in events)
            {
                p[1].Value = e.Seq;
                p[2].Value = e.Id;
                p[3].Value = e.ReceivedAtMicros;
                p[4].Value = (object?)e.IdempotencyKey ?? DBNull.Value;
                p[5].Value = e.Leaf;
                p[6].Value = e.LeafHash;
                p[7].Value = e.ChainHash;
                try
                {
                    insertEvent.ExecuteNonQuery();
                }
                catch (SqliteException ex) when (ex.SqliteErrorCode == 19 && e.IdempotencyKey is not null && IsIdempotencyConflict(transaction, ledgerId, e.IdempotencyKey))
                {
                    // SQLITE_CONSTRAINT on the idempotency index: the key was stored by another writer.
                    return AppendStatus.IdempotencyConflict;
                }

                if (e.Payload is not null)
                {
                    insertPayload.Parameters[1].Value = e.Seq;
                    insertPayload.Parameters[2].Value = e.Payload;
                    insertPayload.ExecuteNonQuery();
                }
            }

            if (nodes.Count > 0)
            {
                var insertNode = WriterCommand(
                    transaction, "INSERT INTO tree_nodes (ledger_id, level, idx, hash) VALUES ($ledger, $level, $idx, $hash);", "$ledger", "$level", "$idx", "$hash");
                insertNode.Parameters[0].Value = ledgerId;
                foreach (var node in nodes)
                {
                    insertNode.Parameters[1].Value = node.Level;
                    insertNode.Parameters[2].Value = node.Index;
                    insertNode.Parameters[3].Value = node.Hash;
                    insertNode.ExecuteNonQuery();
                }
            }

            if (batch.Checkpoint is { } checkpoint)
            {
                InsertCheckpoint(transaction, ledgerId, checkpoint);
            }

            transaction.Commit();
            return AppendStatus.Committed;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>
    /// A statement of the ledger-file writer kept prepared across transactions (a group commit runs the
    /// same few statements each time), with its parameters declared in the order given. Call under the write gate.
    /// </summary>
    private SqliteCommand WriterCommand(SqliteTransaction? transaction, string sql, params string[] parameters) =>
        _writerCommands.Cached(Writer, transaction, sql, parameters);

    private bool IsIdempotencyConflict(SqliteTransaction transaction, long ledgerId, string key)
    {
        using var command = Writer.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT 1 FROM events WHERE ledger_id = $ledger AND idempotency_key = $key;";
        command.Parameters.AddWithValue("$ledger", ledgerId);
        command.Parameters.AddWithValue("$key", key);
        return command.ExecuteScalar() is not null;
    }

    public async Task<IReadOnlyList<StoredEvent>> FindByIdempotencyKeysAsync(long ledgerId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return [];
        }

        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<StoredEvent>();
        foreach (var chunk in keys.Chunk(500))
        {
            using var command = connection.CreateCommand();
            var names = new List<string>(chunk.Length);
            for (var i = 0; i < chunk.Length; i++)
            {
                names.Add("$k" + i.ToString(CultureInfo.InvariantCulture));
                command.Parameters.AddWithValue(names[^1], chunk[i]);
            }

            command.CommandText = SelectEvents + $" WHERE e.ledger_id = $ledger AND e.idempotency_key IN ({string.Join(", ", names)});";
            command.Parameters.AddWithValue("$ledger", ledgerId);
            result.AddRange(ReadEvents(command));
        }

        return result;
    }

    public async Task<StoredEvent?> GetEventAsync(long ledgerId, string eventId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var command = connection.Prepared(SelectEvents + " WHERE e.id = $id AND e.ledger_id = $ledger;");
        command.Set("$id", eventId);
        command.Set("$ledger", ledgerId);
        return ReadEvents(command).FirstOrDefault();
    }

    public async Task<EventPage> QueryEventsAsync(long ledgerId, EventQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        List<StoredEvent> events;
        long indexedSize;
        if (!query.HasFilters)
        {
            indexedSize = LedgerSize(connection, ledgerId);
            using var command = connection.CreateCommand();
            command.CommandText = SqliteEventQuery.Unfiltered + " WHERE e.ledger_id = $ledger"
                + (query.AfterSeq is null ? string.Empty : query.Ascending ? " AND e.seq > $after" : " AND e.seq < $after")
                + (query.Ascending ? " ORDER BY e.seq ASC" : " ORDER BY e.seq DESC") + " LIMIT $limit;";
            command.Parameters.AddWithValue("$ledger", ledgerId);
            command.Parameters.AddWithValue("$after", query.AfterSeq ?? 0);
            command.Parameters.AddWithValue("$limit", query.Limit + 1);
            events = ReadEvents(command);
        }
        else
        {
            // The cursor is read first: every event below it was indexed before the query ran, so the
            // result covers them all even if the indexer commits more meanwhile.
            // The search index trails the others, so a query with a search term is complete below its cursor.
            indexedSize = string.IsNullOrEmpty(query.Search) ? IndexedSize(connection, ledgerId) : SearchIndexedSize(connection, ledgerId);
            events = indexedSize == 0 ? [] : QueryIndexes(connection, ledgerId, query, indexedSize);
        }

        var hasMore = events.Count > query.Limit;
        if (hasMore)
        {
            events.RemoveAt(events.Count - 1);
        }

        return new EventPage(events, hasMore, indexedSize);
    }

    private static List<StoredEvent> QueryIndexes(SqliteConnection connection, long ledgerId, EventQuery query, long indexedSize)
    {
        var driver = SqliteEventQuery.DriverOf(query);
        if (driver == SqliteEventQuery.Driver.ActionPattern)
        {
            var actions = new List<string>();
            using (var find = SqliteEventQuery.MatchingActions(connection, ledgerId, query.Action!))
            using (var reader = find.ExecuteReader())
            {
                while (reader.Read())
                {
                    actions.Add(reader.GetString(0));
                }
            }

            if (actions.Count == 0)
            {
                return [];
            }

            if (actions.Count <= SqliteEventQuery.MaxUnionActions)
            {
                using var union = SqliteEventQuery.Union(connection, ledgerId, query, actions);
                return ReadEvents(union);
            }
        }

        if ((driver is SqliteEventQuery.Driver.ActionPattern or SqliteEventQuery.Driver.TimeRange) && !query.Ascending)
        {
            // The driving index range is not in seq order and would be sorted whole: first try the
            // newest events, which answers the usual "recent" time ranges and common patterns.
            var top = Math.Min(query.AfterSeq ?? indexedSize, indexedSize);
            var floor = Math.Max(0, top - SqliteEventQuery.RecentWindow);
            using var recent = SqliteEventQuery.Build(connection, ledgerId, query, floor);
            var found = ReadEvents(recent);
            if (found.Count > query.Limit || floor == 0)
            {
                return found;
            }
        }

        using var command = SqliteEventQuery.Build(connection, ledgerId, query);
        return ReadEvents(command);
    }

    /// <summary>The SELECT behind a filtered <see cref="QueryEventsAsync"/> without the planning shortcuts; tests EXPLAIN it to prove each filter is index-served.</summary>
    internal static SqliteCommand CreateQueryCommand(SqliteConnection connection, long ledgerId, EventQuery query) =>
        SqliteEventQuery.Build(connection, ledgerId, query);

    private static long LedgerSize(SqliteReaderPool.Lease connection, long ledgerId)
    {
        var command = connection.Prepared("SELECT COALESCE(MAX(seq) + 1, 0) FROM events WHERE ledger_id = $ledger;");
        command.Set("$ledger", ledgerId);
        return (long)command.ExecuteScalar()!;
    }

    public async IAsyncEnumerable<StoredEvent> ReadRangeAsync(long ledgerId, long fromSeq, long toSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var next = fromSeq;
        while (next < toSeq)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var command = connection.Prepared(SelectEvents + " WHERE e.ledger_id = $ledger AND e.seq >= $from AND e.seq < $to ORDER BY e.seq LIMIT $limit;");
            command.Set("$ledger", ledgerId);
            command.Set("$from", next);
            command.Set("$to", toSeq);
            command.Set("$limit", ReadPageSize);
            var page = ReadEvents(command);
            if (page.Count == 0)
            {
                yield break;
            }

            foreach (var e in page)
            {
                yield return e;
            }

            next = page[^1].Seq + 1;
        }
    }

    /// <summary>
    /// Two ordered scans merged by seq, in one read transaction: the events' columns verification
    /// needs, and the payloads beside them, instead of a payload lookup per event. The rows are read
    /// through SQLite's C API, so each value is copied once, from SQLite's row into the buffer (or an
    /// array of its own without one): the ADO.NET reader allocates an array per value, and its
    /// <c>GetBytes</c> into a caller's array opens an incremental blob handle per call (20 times slower).
    /// </summary>
    public async Task<IReadOnlyList<LedgerEntry>> ReadLedgerEntriesAsync(long ledgerId, long fromSeq, long toSeq, LedgerEntryBuffer? buffer, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var db = connection.Connection.Handle ?? throw new InvalidOperationException("The reader's connection is not open.");
        using var rows = RawStatement(db, "SELECT seq, leaf, leaf_hash, chain_hash FROM events WHERE ledger_id = ?1 AND seq >= ?2 AND seq < ?3 ORDER BY seq;", ledgerId, fromSeq, toSeq);
        using var payloads = RawStatement(db, "SELECT seq, payload FROM payloads WHERE ledger_id = ?1 AND seq >= ?2 AND seq < ?3 ORDER BY seq;", ledgerId, fromSeq, toSeq);

        var entries = new List<LedgerEntry>((int)Math.Clamp(toSeq - fromSeq, 0, 100_000));
        // Both statements stay active until the last row, so both read one snapshot.
        var payloadSeq = RawStep(db, payloads) ? raw.sqlite3_column_int64(payloads, 0) : long.MaxValue;
        while (RawStep(db, rows))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var seq = raw.sqlite3_column_int64(rows, 0);
            while (payloadSeq < seq)
            {
                payloadSeq = RawStep(db, payloads) ? raw.sqlite3_column_int64(payloads, 0) : long.MaxValue;
            }

            // Not a bare null, which would become empty memory through byte[]'s conversion.
            var payload = payloadSeq == seq && raw.sqlite3_column_type(payloads, 1) != raw.SQLITE_NULL
                ? Copy(raw.sqlite3_column_blob(payloads, 1))
                : (ReadOnlyMemory<byte>?)null;
            entries.Add(new LedgerEntry(
                seq, Copy(raw.sqlite3_column_blob(rows, 1)), payload, raw.sqlite3_column_blob(rows, 2).ToArray(), raw.sqlite3_column_blob(rows, 3).ToArray()));
        }

        return entries;

        ReadOnlyMemory<byte> Copy(ReadOnlySpan<byte> value) => buffer is null ? value.ToArray() : buffer.Copy(value);
    }

    private static sqlite3_stmt RawStatement(sqlite3 db, string sql, long ledgerId, long fromSeq, long toSeq)
    {
        var rc = raw.sqlite3_prepare_v2(db, sql, out var statement);
        if (rc != raw.SQLITE_OK)
        {
            statement?.Dispose();
            throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
        }

        raw.sqlite3_bind_int64(statement, 1, ledgerId);
        raw.sqlite3_bind_int64(statement, 2, fromSeq);
        raw.sqlite3_bind_int64(statement, 3, toSeq);
        return statement;
    }

    /// <summary>
    /// Steps to the next row: true on a row, false once done; an error throws. A busy database is
    /// retried for up to the readers' timeout, as the ADO.NET reader does.
    /// </summary>
    private static bool RawStep(sqlite3 db, sqlite3_stmt statement)
    {
        var started = Environment.TickCount64;
        while (true)
        {
            var rc = raw.sqlite3_step(statement);
            switch (rc)
            {
                case raw.SQLITE_ROW:
                    return true;
                case raw.SQLITE_DONE:
                    return false;
                case raw.SQLITE_BUSY or raw.SQLITE_LOCKED when Environment.TickCount64 - started < SqliteReaderPool.Timeout.TotalMilliseconds:
                    Thread.Sleep(1);
                    continue;
                default:
                    throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
            }
        }
    }

    public byte[] ReadLeafHashes(long ledgerId, long start, int count)
    {
        using var connection = OpenReader();
        var command = connection.Prepared("SELECT leaf_hash FROM events WHERE ledger_id = $ledger AND seq >= $start AND seq < $end ORDER BY seq;");
        command.Set("$ledger", ledgerId);
        command.Set("$start", start);
        command.Set("$end", start + count);
        return ReadConcatenatedHashes(command, count);
    }

    public byte[] ReadNodeHashes(long ledgerId, int level, long start, int count)
    {
        using var connection = OpenReader();
        var command = connection.Prepared("SELECT hash FROM tree_nodes WHERE ledger_id = $ledger AND level = $level AND idx >= $start AND idx < $end ORDER BY idx;");
        command.Set("$ledger", ledgerId);
        command.Set("$level", level);
        command.Set("$start", start);
        command.Set("$end", start + count);
        return ReadConcatenatedHashes(command, count);
    }

    public IReadOnlyList<byte[]> ReadLeaves(long ledgerId, long start, int count)
    {
        using var connection = OpenReader();
        var command = connection.Prepared("SELECT leaf FROM events WHERE ledger_id = $ledger AND seq >= $start AND seq < $end ORDER BY seq;");
        command.Set("$ledger", ledgerId);
        command.Set("$start", start);
        command.Set("$end", start + count);
        using var reader = command.ExecuteReader();
        var result = new List<byte[]>(count);
        while (reader.Read())
        {
            result.Add((byte[])reader[0]);
        }

        return result;
    }

    public IReadOnlyList<byte[]?> ReadPayloads(long ledgerId, long start, int count)
    {
        using var connection = OpenReader();
        var command = connection.Prepared(
            """
            SELECT e.seq, p.payload FROM events e
            LEFT JOIN payloads p ON p.ledger_id = e.ledger_id AND p.seq = e.seq
            WHERE e.ledger_id = $ledger AND e.seq >= $start AND e.seq < $end ORDER BY e.seq;
            """);
        command.Set("$ledger", ledgerId);
        command.Set("$start", start);
        command.Set("$end", start + count);
        using var reader = command.ExecuteReader();
        var result = new List<byte[]?>(count);
        while (reader.Read())
        {
            result.Add(reader.IsDBNull(1) ? null : (byte[])reader[1]);
        }

        return result;
    }

    public async Task AddCheckpointAsync(long ledgerId, StoredCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            InsertCheckpoint(null, ledgerId, checkpoint);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Stores a checkpoint (an equal size stored already is kept). Call under the write gate.</summary>
    private void InsertCheckpoint(SqliteTransaction? transaction, long ledgerId, StoredCheckpoint checkpoint)
    {
        var command = WriterCommand(
            transaction,
            """
            INSERT INTO checkpoints (ledger_id, size, root_hash, chain_head, signed_note, created_at)
            VALUES ($ledger, $size, $root, $chain, $note, $created_at) ON CONFLICT DO NOTHING;
            """,
            "$ledger", "$size", "$root", "$chain", "$note", "$created_at");
        var p = command.Parameters;
        p[0].Value = ledgerId;
        p[1].Value = checkpoint.Size;
        p[2].Value = checkpoint.RootHash;
        p[3].Value = (object?)checkpoint.ChainHead ?? DBNull.Value;
        p[4].Value = checkpoint.SignedNote;
        p[5].Value = Micros(checkpoint.CreatedAt);
        command.ExecuteNonQuery();
    }

    public async Task<StoredCheckpoint?> GetLatestCheckpointAsync(long ledgerId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var command = connection.Prepared(
            "SELECT size, root_hash, chain_head, signed_note, created_at FROM checkpoints WHERE ledger_id = $ledger ORDER BY size DESC LIMIT 1;");
        command.Set("$ledger", ledgerId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadCheckpoint(reader) : null;
    }

    public async Task<IReadOnlyList<StoredCheckpoint>> ListCheckpointsAsync(long ledgerId, long fromSize, long toSize, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var command = connection.Prepared(
            """
            SELECT size, root_hash, chain_head, signed_note, created_at FROM checkpoints
            WHERE ledger_id = $ledger AND size >= $from AND size <= $to ORDER BY size;
            """);
        command.Set("$ledger", ledgerId);
        command.Set("$from", fromSize);
        command.Set("$to", toSize);
        using var reader = command.ExecuteReader();
        var result = new List<StoredCheckpoint>();
        while (reader.Read())
        {
            result.Add(ReadCheckpoint(reader));
        }

        return result;
    }

    public async Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = Writer.CreateCommand();
            command.CommandText =
                """
                INSERT INTO api_keys (id, prefix, secret_hash, name, ledger, permissions, created_at, revoked_at, bootstrap)
                VALUES ($id, $prefix, $hash, $name, $ledger, $permissions, $created_at, NULL, $bootstrap);
                """;
            command.Parameters.AddWithValue("$id", key.Id);
            command.Parameters.AddWithValue("$prefix", key.Prefix);
            command.Parameters.AddWithValue("$hash", key.SecretHash);
            command.Parameters.AddWithValue("$name", key.Name);
            command.Parameters.AddWithValue("$ledger", (object?)key.Ledger ?? DBNull.Value);
            command.Parameters.AddWithValue("$permissions", string.Join(',', key.Permissions));
            command.Parameters.AddWithValue("$created_at", Micros(key.CreatedAt));
            command.Parameters.AddWithValue("$bootstrap", key.IsBootstrap ? 1 : 0);
            command.ExecuteNonQuery();
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public Task<ApiKeyRecord?> FindApiKeyByPrefixAsync(string prefix, CancellationToken cancellationToken) =>
        FindApiKeyAsync("prefix", prefix, cancellationToken);

    public Task<ApiKeyRecord?> GetApiKeyAsync(string id, CancellationToken cancellationToken) =>
        FindApiKeyAsync("id", id, cancellationToken);

    public async Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(string? ledger, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = ledger is null
            ? $"{SelectKeys} ORDER BY created_at, id;"
            : $"{SelectKeys} WHERE ledger = $ledger ORDER BY created_at, id;";
        if (ledger is not null)
        {
            command.Parameters.AddWithValue("$ledger", ledger);
        }

        using var reader = command.ExecuteReader();
        var result = new List<ApiKeyRecord>();
        while (reader.Read())
        {
            result.Add(ReadKey(reader));
        }

        return result;
    }

    public async Task<bool> RevokeApiKeyAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = Writer.CreateCommand();
            command.CommandText = "UPDATE api_keys SET revoked_at = $now WHERE id = $id AND revoked_at IS NULL;";
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$now", Micros(now));
            return command.ExecuteNonQuery() == 1;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<string?> GetSettingAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var command = connection.Prepared("SELECT value FROM settings WHERE name = $name;");
        command.Set("$name", name);
        return command.ExecuteScalar() as string;
    }

    public async Task<bool> TrySetSettingAsync(string name, string value, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = Writer.CreateCommand();
            command.CommandText = "INSERT INTO settings (name, value) VALUES ($name, $value) ON CONFLICT (name) DO NOTHING;";
            command.Parameters.AddWithValue("$name", name);
            command.Parameters.AddWithValue("$value", value);
            return command.ExecuteNonQuery() == 1;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private const string SelectExports =
        "SELECT id, ledger_id, request, created_by, created_at, state, rows_done, rows_total, file_name, file_size, error, started_at, finished_at, expires_at, worker, lease_until FROM exports";

    public async Task<bool> TryAddExportAsync(ExportJob job, DateTimeOffset quotaSince, long quota, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = Writer.CreateCommand();
            command.CommandText =
                """
                INSERT INTO exports (id, ledger_id, request, created_by, created_at, state, rows_done, rows_total, file_name, file_size, error, started_at, finished_at, expires_at, worker, lease_until)
                SELECT $id, $ledger, $request, $created_by, $created_at, $state, $rows_done, $rows_total, $file_name, $file_size, $error, $started_at, $finished_at, $expires_at, $worker, $lease_until
                WHERE (SELECT COUNT(*) FROM exports WHERE ledger_id = $ledger AND created_at >= $since) < $quota;
                """;
            command.Parameters.AddWithValue("$since", Micros(quotaSince));
            command.Parameters.AddWithValue("$quota", quota);
            command.Parameters.AddWithValue("$ledger", job.LedgerId);
            command.Parameters.AddWithValue("$request", job.Request);
            command.Parameters.AddWithValue("$created_by", job.CreatedBy);
            command.Parameters.AddWithValue("$created_at", Micros(job.CreatedAt));
            AddExportState(command, job);
            return command.ExecuteNonQuery() == 1;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<ExportJob?> GetExportAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var command = connection.Prepared($"{SelectExports} WHERE id = $id;");
        command.Set("$id", id);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadExport(reader) : null;
    }

    public async Task<IReadOnlyList<ExportJob>> ListUnfinishedExportsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var command = connection.Prepared($"{SelectExports} WHERE state IN ('queued', 'running') ORDER BY created_at, id;");
        using var reader = command.ExecuteReader();
        var result = new List<ExportJob>();
        while (reader.Read())
        {
            result.Add(ReadExport(reader));
        }

        return result;
    }

    public async Task<ExportJob?> TryClaimExportAsync(
        string id, string worker, DateTimeOffset now, DateTimeOffset leaseUntil, int perLedgerLimit, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = Writer.CreateCommand();
            command.CommandText =
                """
                UPDATE exports SET state = 'running', rows_done = 0, rows_total = NULL, error = NULL, started_at = $now,
                    worker = $worker, lease_until = $lease_until
                WHERE id = $id
                  AND (state = 'queued' OR (state = 'running' AND (lease_until IS NULL OR lease_until < $now)))
                  AND (SELECT COUNT(*) FROM exports AS other
                       WHERE other.ledger_id = exports.ledger_id AND other.id <> $id AND other.state = 'running' AND other.lease_until >= $now) < $limit;
                """;
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$worker", worker);
            command.Parameters.AddWithValue("$now", Micros(now));
            command.Parameters.AddWithValue("$lease_until", Micros(leaseUntil));
            command.Parameters.AddWithValue("$limit", perLedgerLimit);
            if (command.ExecuteNonQuery() != 1)
            {
                return null;
            }

            command.Parameters.Clear();
            command.CommandText = $"{SelectExports} WHERE id = $id;";
            command.Parameters.AddWithValue("$id", id);
            using var reader = command.ExecuteReader();
            return reader.Read() ? ReadExport(reader) : null;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<bool> UpdateExportAsync(ExportJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var command = Writer.CreateCommand();
            command.CommandText =
                """
                UPDATE exports SET state = $state, rows_done = $rows_done, rows_total = $rows_total, file_name = $file_name,
                    file_size = $file_size, error = $error, started_at = $started_at, finished_at = $finished_at, expires_at = $expires_at,
                    lease_until = $lease_until
                WHERE id = $id AND worker IS $worker;
                """;
            AddExportState(command, job);
            return command.ExecuteNonQuery() == 1;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<long> CountExportsSinceAsync(long ledgerId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var command = connection.Prepared("SELECT COUNT(*) FROM exports WHERE ledger_id = $ledger AND created_at >= $since;");
        command.Set("$ledger", ledgerId);
        command.Set("$since", Micros(since));
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void AddExportState(SqliteCommand command, ExportJob job)
    {
        command.Parameters.AddWithValue("$id", job.Id);
        command.Parameters.AddWithValue("$state", job.State);
        command.Parameters.AddWithValue("$rows_done", job.RowsDone);
        command.Parameters.AddWithValue("$rows_total", (object?)job.RowsTotal ?? DBNull.Value);
        command.Parameters.AddWithValue("$file_name", (object?)job.FileName ?? DBNull.Value);
        command.Parameters.AddWithValue("$file_size", (object?)job.FileSize ?? DBNull.Value);
        command.Parameters.AddWithValue("$error", (object?)job.Error ?? DBNull.Value);
        command.Parameters.AddWithValue("$started_at", job.StartedAt is { } started ? Micros(started) : DBNull.Value);
        command.Parameters.AddWithValue("$finished_at", job.FinishedAt is { } finished ? Micros(finished) : DBNull.Value);
        command.Parameters.AddWithValue("$expires_at", job.ExpiresAt is { } expires ? Micros(expires) : DBNull.Value);
        command.Parameters.AddWithValue("$worker", (object?)job.Worker ?? DBNull.Value);
        command.Parameters.AddWithValue("$lease_until", job.LeaseUntil is { } lease ? Micros(lease) : DBNull.Value);
    }

    private static ExportJob ReadExport(SqliteDataReader reader) => new()
    {
        Id = reader.GetString(0),
        LedgerId = reader.GetInt64(1),
        Request = reader.GetString(2),
        CreatedBy = reader.GetString(3),
        CreatedAt = FromMicros(reader.GetInt64(4)),
        State = reader.GetString(5),
        RowsDone = reader.GetInt64(6),
        RowsTotal = reader.IsDBNull(7) ? null : reader.GetInt64(7),
        FileName = NullableString(reader, 8),
        FileSize = reader.IsDBNull(9) ? null : reader.GetInt64(9),
        Error = NullableString(reader, 10),
        StartedAt = reader.IsDBNull(11) ? null : FromMicros(reader.GetInt64(11)),
        FinishedAt = reader.IsDBNull(12) ? null : FromMicros(reader.GetInt64(12)),
        ExpiresAt = reader.IsDBNull(13) ? null : FromMicros(reader.GetInt64(13)),
        Worker = NullableString(reader, 14),
        LeaseUntil = reader.IsDBNull(15) ? null : FromMicros(reader.GetInt64(15)),
    };

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _writeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var command in _writerCommands.Values)
            {
                command.Dispose();
            }

            _writerCommands.Clear();
            if (_writer is not null)
            {
                await _writer.DisposeAsync().ConfigureAwait(false);
                _writer = null;
            }
        }
        finally
        {
            _writeGate.Release();
        }

        await DisposeIndexAsync().ConfigureAwait(false);
        _readers?.Dispose();
        SqliteConnection.ClearAllPools();
        _writeGate.Dispose();
    }

    private const string SelectEvents = SqliteEventQuery.Unfiltered;

    private const string SelectKeys =
        "SELECT id, prefix, secret_hash, name, ledger, permissions, created_at, revoked_at, bootstrap FROM api_keys";

    private SqliteConnection Writer => _writer ?? throw new InvalidOperationException("The store is not initialised or already disposed.");

    private static List<StoredEvent> ReadEvents(SqliteCommand command)
    {
        var result = new List<StoredEvent>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result.Add(EventRows.Read(reader));
        }

        return result;
    }

    private static byte[] ReadConcatenatedHashes(SqliteCommand command, int count)
    {
        using var reader = command.ExecuteReader();
        using var buffer = new MemoryStream(count * 32);
        while (reader.Read())
        {
            var hash = (byte[])reader[0];
            buffer.Write(hash);
        }

        return buffer.ToArray();
    }

    private async Task<ApiKeyRecord?> FindApiKeyAsync(string column, string value, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var command = connection.Prepared($"{SelectKeys} WHERE {column} = $value;");
        command.Set("$value", value);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadKey(reader) : null;
    }

    private static ApiKeyRecord ReadKey(SqliteDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Prefix = reader.GetString(1),
        SecretHash = (byte[])reader[2],
        Name = reader.GetString(3),
        Ledger = NullableString(reader, 4),
        Permissions = reader.GetString(5).Split(',', StringSplitOptions.RemoveEmptyEntries),
        CreatedAt = FromMicros(reader.GetInt64(6)),
        RevokedAt = reader.IsDBNull(7) ? null : FromMicros(reader.GetInt64(7)),
        IsBootstrap = reader.GetInt64(8) != 0,
    };

    private static StoredCheckpoint ReadCheckpoint(SqliteDataReader reader) => new(
        reader.GetInt64(0),
        (byte[])reader[1],
        reader.IsDBNull(2) ? null : (byte[])reader[2],
        (byte[])reader[3],
        FromMicros(reader.GetInt64(4)));

    private static LedgerInfo ReadLedger(SqliteDataReader reader) =>
        new(reader.GetInt64(0), reader.GetString(1), NullableString(reader, 2), FromMicros(reader.GetInt64(3)));

    private static string? NullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static long Micros(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private static DateTimeOffset FromMicros(long micros) => DateTimeOffset.UnixEpoch.AddTicks(micros * 10);

    private SqliteReaderPool.Lease OpenReader() =>
        (_readers ?? throw new InvalidOperationException("The store is not initialised or already disposed.")).Rent();

    private ValueTask<SqliteReaderPool.Lease> OpenReaderAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(OpenReader());
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}

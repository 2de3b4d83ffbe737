using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Stele.Storage.Postgres;

/// <summary>
/// The shared backend: PostgreSQL through one <see cref="NpgsqlDataSource"/>. Several Stele nodes may
/// use the same database: appends to a ledger are serialised by a transaction-scoped advisory lock
/// on that ledger, taken in the database, and the expected size is checked under it. Commits are
/// durable when they return (<c>synchronous_commit = on</c> is forced for append transactions).
/// </summary>
public sealed partial class PostgresSteleStore : ISteleStore
{
    private const int ReadPageSize = 1000;

    /// <summary>High 32 bits of every ledger's advisory lock key ("Stel"), so Stele's keys do not collide with other users of advisory locks.</summary>
    private const long LedgerLockNamespace = 0x5374656CL << 32;

    // The payload is a correlated subquery rather than a join: it is then always one primary-key
    // probe per returned row, where a join may be planned as a hash join over every payload.
    private const string SelectColumns =
        """
        SELECT e.seq, e.id, e.received_at, e.idempotency_key, e.leaf, e.leaf_hash, e.chain_hash,
            (SELECT p.payload FROM payloads p WHERE p.ledger_id = e.ledger_id AND p.seq = e.seq)
        """;

    private const string SelectEvents = SelectColumns + " FROM events e";

    /// <summary>Index rows are written by one indexer per ledger at a time across nodes, under this lock namespace ("SIdx").</summary>
    private const long IndexLockNamespace = 0x53496478L << 32;

    private const string SelectKeys =
        "SELECT id, prefix, secret_hash, name, ledger, permissions, created_at, revoked_at, bootstrap FROM api_keys";

    private const string SelectCheckpoints = "SELECT size, root_hash, chain_head, signed_note, created_at FROM checkpoints";

    private readonly NpgsqlDataSource _dataSource;

    public PostgresSteleStore(string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        _dataSource = new NpgsqlDataSourceBuilder(connectionString).Build();
    }

    public string Backend => "postgres";

    /// <summary>The data source, for tests that must run raw SQL through the backend's own connections.</summary>
    internal NpgsqlDataSource DataSource => _dataSource;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

        // An up-to-date database needs no DDL, so the application role (which may not create
        // tables) can open it; only a missing or older schema takes the migration path.
        var version = await ReadSchemaVersionAsync(connection, null, cancellationToken).ConfigureAwait(false);
        CheckNotNewer(version);
        if (version == PostgresSchema.CurrentVersion)
        {
            return;
        }

        while (true)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

            // Everything from here, CREATE TABLE IF NOT EXISTS included, runs under the lock: two
            // nodes creating the same table at once collide in the catalog even with IF NOT EXISTS.
            await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1);", connection, transaction))
            {
                lockCommand.Parameters.Add(new NpgsqlParameter { Value = PostgresSchema.MigrationLockKey });
                await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var create = new NpgsqlCommand(
                "CREATE TABLE IF NOT EXISTS stele_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL);", connection, transaction))
            {
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            // Read again under the lock: another node may have migrated meanwhile.
            version = await ReadSchemaVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            CheckNotNewer(version);
            if (version == PostgresSchema.CurrentVersion)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return;
            }

            await using (var migrate = new NpgsqlCommand(PostgresSchema.Migrations[version], connection, transaction))
            {
                await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var record = new NpgsqlCommand(
                "INSERT INTO stele_schema (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version;", connection, transaction))
            {
                record.Parameters.Add(new NpgsqlParameter { Value = version + 1 });
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<LedgerInfo?> FindLedgerAsync(string name, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT id, name, description, created_at FROM ledgers WHERE name = $1;");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadLedger(reader) : null;
    }

    public async Task<IReadOnlyList<LedgerInfo>> ListLedgersAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT id, name, description, created_at FROM ledgers ORDER BY name;");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<LedgerInfo>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(ReadLedger(reader));
        }

        return result;
    }

    public async Task<LedgerInfo?> CreateLedgerAsync(string name, string? description, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "INSERT INTO ledgers (name, description, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id;");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)description ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = Micros(now) });
        var id = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return id is null ? null : new LedgerInfo((long)id, name, description, FromMicros(Micros(now)));
    }

    public async Task<LedgerHead> GetHeadAsync(long ledgerId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT seq, chain_hash FROM events WHERE ledger_id = $1 ORDER BY seq DESC LIMIT 1;");
        command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new LedgerHead(reader.GetInt64(0) + 1, (byte[])reader[1])
            : new LedgerHead(0, null);
    }

    public Task<AppendStatus> AppendAsync(long ledgerId, long expectedSize, IReadOnlyList<StoredEvent> events, IReadOnlyList<StoredTreeNode> nodes, CancellationToken cancellationToken) =>
        AppendAsync(ledgerId, expectedSize, new AppendBatch(events, nodes), cancellationToken);

    /// <summary>
    /// One round trip: BEGIN, the ledger's lock, the size check (<c>stele_expect_size</c> raises if
    /// the ledger is not at <paramref name="expectedSize"/>), every row of the group and COMMIT, in
    /// one batch. PostgreSQL skips the rest of a batch after an error, so a refused append writes
    /// nothing and is rolled back here.
    /// </summary>
    public async Task<AppendStatus> AppendAsync(long ledgerId, long expectedSize, AppendBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(batch.Events);
        ArgumentNullException.ThrowIfNull(batch.Nodes);
        if (batch.Events.Count == 0)
        {
            return AppendStatus.Committed;
        }

        batch.CheckCheckpointEndsBatch();

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var append = new NpgsqlBatch(connection);
        append.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
        append.BatchCommands.Add(LockLedger(ledgerId));
        append.BatchCommands.Add(Batched(
            "SELECT stele_expect_size($1, $2);",
            new NpgsqlParameter { Value = ledgerId },
            new NpgsqlParameter { Value = expectedSize }));
        AddAppendInserts(append, ledgerId, batch);
        append.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        try
        {
            // Once the rows are sent, finish even if the caller gives up, so the outcome the
            // sequencer sees is never "maybe".
            await append.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            return AppendStatus.Committed;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresSchema.SizeConflictState || IsIdempotencyConflict(ex))
        {
            await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
            await rollback.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            return ex.SqlState == PostgresSchema.SizeConflictState ? AppendStatus.SizeConflict : AppendStatus.IdempotencyConflict;
        }
    }

    public async Task<AppendStatus> AppendAtHeadAsync(long ledgerId, Func<LedgerHead, Task<AppendBatch>> build, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(build);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        var head = await LockAndReadHeadAsync(connection, transaction, ledgerId, cancellationToken).ConfigureAwait(false);
        var batch = await build(head).ConfigureAwait(false);
        if (batch.Events.Count == 0)
        {
            await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            return AppendStatus.Committed;
        }

        if (batch.Events[0].Seq != head.Size)
        {
            throw new InvalidOperationException($"Ledger {ledgerId}: the batch starts at seq {batch.Events[0].Seq} but the ledger's size is {head.Size}.");
        }

        batch.CheckCheckpointEndsBatch();
        return await InsertAndCommitAsync(connection, transaction, ledgerId, batch, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Round trip 1 of a lock-first append: <see cref="LockLedger"/>, then the head, read once the lock is held.</summary>
    private static async Task<LedgerHead> LockAndReadHeadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long ledgerId, CancellationToken cancellationToken)
    {
        await using var check = new NpgsqlBatch(connection, transaction);
        check.BatchCommands.Add(LockLedger(ledgerId));
        check.BatchCommands.Add(Batched(
            "SELECT seq, chain_hash FROM events WHERE ledger_id = $1 ORDER BY seq DESC LIMIT 1;",
            new NpgsqlParameter { Value = ledgerId }));
        await using var reader = await check.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new LedgerHead(reader.GetInt64(0) + 1, (byte[])reader[1])
            : new LedgerHead(0, null);
    }

    /// <summary>
    /// Forces a durable commit whatever the server default, and takes the ledger's lock (held until
    /// commit or rollback, across every node sharing the database; waiters are granted in arrival
    /// order). Whatever reads the head must be a later statement, so its snapshot is taken after the
    /// lock is held.
    /// </summary>
    private static NpgsqlBatchCommand LockLedger(long ledgerId) => Batched(
        "SELECT set_config('synchronous_commit', 'on', true), pg_advisory_xact_lock($1);",
        new NpgsqlParameter { Value = LedgerLockNamespace | ledgerId });

    private static bool IsIdempotencyConflict(PostgresException ex) =>
        ex.SqlState == PostgresErrorCodes.UniqueViolation && ex.ConstraintName == "events_by_idempotency_key";

    /// <summary>Round trip 2 and the commit: every row of the group as one array-valued INSERT per table.</summary>
    private static async Task<AppendStatus> InsertAndCommitAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long ledgerId, AppendBatch batch, CancellationToken cancellationToken)
    {
        await using (var insert = new NpgsqlBatch(connection, transaction))
        {
            AddAppendInserts(insert, ledgerId, batch);
            try
            {
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException ex) when (IsIdempotencyConflict(ex))
            {
                // The key was stored by another writer (or twice in this group): nothing is kept.
                await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                return AppendStatus.IdempotencyConflict;
            }
        }

        // Once the rows are sent, finish the commit even if the caller gives up, so the outcome
        // the sequencer sees is never "maybe".
        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return AppendStatus.Committed;
    }

    /// <summary>Every row of an append as one array-valued INSERT per table: events, payloads, tree nodes, the checkpoint.</summary>
    private static void AddAppendInserts(NpgsqlBatch insert, long ledgerId, AppendBatch batch)
    {
        AddEventInserts(insert, ledgerId, batch.Events);
        var nodes = batch.Nodes;
        if (nodes.Count > 0)
        {
            insert.BatchCommands.Add(Batched(
                "INSERT INTO tree_nodes (ledger_id, level, idx, hash) SELECT $1, * FROM unnest($2::integer[], $3::bigint[], $4::bytea[]);",
                new NpgsqlParameter { Value = ledgerId },
                new NpgsqlParameter { Value = nodes.Select(n => n.Level).ToArray() },
                new NpgsqlParameter { Value = nodes.Select(n => n.Index).ToArray() },
                Bytes(nodes.Select(n => n.Hash))));
        }

        if (batch.Checkpoint is { } checkpoint)
        {
            insert.BatchCommands.Add(CheckpointInsert(ledgerId, checkpoint));
        }
    }

    public async Task<IReadOnlyList<StoredEvent>> FindByIdempotencyKeysAsync(long ledgerId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return [];
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(SelectEvents + " WHERE e.ledger_id = $1 AND e.idempotency_key = ANY($2) ORDER BY e.seq;", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
        command.Parameters.Add(new NpgsqlParameter { Value = keys.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        return await ReadEventsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredEvent?> GetEventAsync(long ledgerId, string eventId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(SelectEvents + " WHERE e.id = $1 AND e.ledger_id = $2;", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = eventId });
        command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
        var events = await ReadEventsAsync(command, cancellationToken).ConfigureAwait(false);
        return events.Count == 0 ? null : events[0];
    }

    public async Task<EventPage> QueryEventsAsync(long ledgerId, EventQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        long indexedSize;
        NpgsqlCommand command;
        if (!query.HasFilters)
        {
            // The events themselves: fresh up to the ledger's size.
            await using (var size = new NpgsqlCommand("SELECT COALESCE(MAX(seq) + 1, 0) FROM events WHERE ledger_id = $1;", connection))
            {
                size.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
                indexedSize = (long)(await size.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }

            command = new NpgsqlCommand(
                SelectEvents + " WHERE e.ledger_id = $1"
                + (query.AfterSeq is null ? string.Empty : query.Ascending ? " AND e.seq > $3" : " AND e.seq < $3")
                + (query.Ascending ? " ORDER BY e.seq ASC" : " ORDER BY e.seq DESC") + " LIMIT $2;",
                connection);
            command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
            command.Parameters.Add(new NpgsqlParameter { Value = (long)query.Limit + 1 });
            command.Parameters.Add(new NpgsqlParameter { Value = query.AfterSeq ?? 0L });
        }
        else
        {
            // The cursor first: every event below it was indexed before the query ran.
            indexedSize = await IndexedSizeAsync(connection, ledgerId, cancellationToken).ConfigureAwait(false);
            command = CreateQueryCommand(connection, ledgerId, query);
        }

        await using (command.ConfigureAwait(false))
        {
            var events = await ReadEventsAsync(command, cancellationToken).ConfigureAwait(false);
            var hasMore = events.Count > query.Limit;
            if (hasMore)
            {
                events.RemoveAt(events.Count - 1);
            }

            return new EventPage(events, hasMore, indexedSize);
        }
    }

    public async Task<long> GetIndexedSizeAsync(long ledgerId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await IndexedSizeAsync(connection, ledgerId, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<long> IndexedSizeAsync(NpgsqlConnection connection, long ledgerId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT indexed_size FROM index_state WHERE ledger_id = $1;", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long size ? size : 0;
    }

    public Task<IndexStatus> IndexAsync(long ledgerId, long expectedIndexedSize, IReadOnlyList<EventIndexEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return IndexChunksAsync(ledgerId, expectedIndexedSize, IndexChunks.One(entries), cancellationToken);
    }

    public async Task<IndexStatus> IndexChunksAsync(long ledgerId, long expectedIndexedSize, IAsyncEnumerable<IReadOnlyList<EventIndexEntry>> chunks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        // Disposed without a commit (an invalid chunk, a failure, a cancellation), it writes nothing.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // Round trip 1: no fsync wait for this transaction (a lost one is redone from the cursor, lost
        // with it), the ledger's index lock (indexers on several nodes take turns), and the cursor.
        await using (var check = new NpgsqlBatch(connection, transaction))
        {
            check.BatchCommands.Add(Batched(
                "SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock($1);",
                new NpgsqlParameter { Value = IndexLockNamespace | ledgerId }));
            check.BatchCommands.Add(Batched(
                "SELECT COALESCE((SELECT indexed_size FROM index_state WHERE ledger_id = $1), 0);",
                new NpgsqlParameter { Value = ledgerId }));
            await using var reader = await check.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (reader.GetInt64(0) != expectedIndexedSize)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
                await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
                return IndexStatus.CursorMoved;
            }
        }

        // A round trip per chunk: the ids stored at its first and last seq (only stored events are
        // indexed; a mismatch throws and the transaction is rolled back) and its rows as one
        // array-valued INSERT per table.
        var next = expectedIndexedSize;
        EventIndexEntry? last = null;
        await foreach (var entries in chunks.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            ArgumentNullException.ThrowIfNull(entries, nameof(chunks));
            if (entries.Count == 0)
            {
                continue;
            }

            IndexChunks.RequireConsecutive(entries, next);
            await using var insert = new NpgsqlBatch(connection, transaction);
            insert.BatchCommands.Add(Batched(
                "SELECT (SELECT id FROM events WHERE ledger_id = $1 AND seq = $2), (SELECT id FROM events WHERE ledger_id = $1 AND seq = $3);",
                new NpgsqlParameter { Value = ledgerId },
                new NpgsqlParameter { Value = entries[0].Seq },
                new NpgsqlParameter { Value = entries[^1].Seq }));
            AddIndexInserts(insert, ledgerId, entries);
            await using (var reader = await insert.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var firstId = reader.IsDBNull(0) ? null : reader.GetString(0);
                var lastId = reader.IsDBNull(1) ? null : reader.GetString(1);
                if (!string.Equals(firstId, entries[0].Id, StringComparison.Ordinal) || !string.Equals(lastId, entries[^1].Id, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"The index entries for seqs {entries[0].Seq} to {entries[^1].Seq} do not describe the events stored there.", nameof(chunks));
                }

                while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
                {
                }
            }

            next += entries.Count;
            last = entries[^1];
        }

        if (last is null)
        {
            return IndexStatus.Indexed;
        }

        await using (var advance = new NpgsqlCommand(
            """
            INSERT INTO index_state (ledger_id, indexed_size, last_event_id) VALUES ($1, $2, $3)
            ON CONFLICT (ledger_id) DO UPDATE SET indexed_size = excluded.indexed_size, last_event_id = excluded.last_event_id;
            """,
            connection,
            transaction))
        {
            advance.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
            advance.Parameters.Add(new NpgsqlParameter { Value = next });
            advance.Parameters.Add(new NpgsqlParameter { Value = last.Id });
            await advance.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return IndexStatus.Indexed;
    }

    public async IAsyncEnumerable<StoredEvent> ReadRangeAsync(long ledgerId, long fromSeq, long toSeq, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var next = fromSeq;
        while (next < toSeq)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await using var command = new NpgsqlCommand(SelectEvents + " WHERE e.ledger_id = $1 AND e.seq >= $2 AND e.seq < $3 ORDER BY e.seq LIMIT $4;", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
            command.Parameters.Add(new NpgsqlParameter { Value = next });
            command.Parameters.Add(new NpgsqlParameter { Value = toSeq });
            command.Parameters.Add(new NpgsqlParameter { Value = (long)ReadPageSize });
            var page = await ReadEventsAsync(command, cancellationToken).ConfigureAwait(false);
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

    public byte[] ReadLeafHashes(long ledgerId, long start, int count)
    {
        using var command = _dataSource.CreateCommand("SELECT leaf_hash FROM events WHERE ledger_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq;");
        command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
        command.Parameters.Add(new NpgsqlParameter { Value = start });
        command.Parameters.Add(new NpgsqlParameter { Value = start + count });
        return ReadConcatenatedHashes(command, count);
    }

    public byte[] ReadNodeHashes(long ledgerId, int level, long start, int count)
    {
        using var command = _dataSource.CreateCommand(
            "SELECT hash FROM tree_nodes WHERE ledger_id = $1 AND level = $2 AND idx >= $3 AND idx < $4 ORDER BY idx;");
        command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
        command.Parameters.Add(new NpgsqlParameter { Value = level });
        command.Parameters.Add(new NpgsqlParameter { Value = start });
        command.Parameters.Add(new NpgsqlParameter { Value = start + count });
        return ReadConcatenatedHashes(command, count);
    }

    public IReadOnlyList<byte[]> ReadLeaves(long ledgerId, long start, int count)
    {
        using var command = _dataSource.CreateCommand("SELECT leaf FROM events WHERE ledger_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq;");
        command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
        command.Parameters.Add(new NpgsqlParameter { Value = start });
        command.Parameters.Add(new NpgsqlParameter { Value = start + count });
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
        using var command = _dataSource.CreateCommand(
            """
            SELECT e.seq, (SELECT p.payload FROM payloads p WHERE p.ledger_id = e.ledger_id AND p.seq = e.seq) FROM events e
            WHERE e.ledger_id = $1 AND e.seq >= $2 AND e.seq < $3 ORDER BY e.seq;
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
        command.Parameters.Add(new NpgsqlParameter { Value = start });
        command.Parameters.Add(new NpgsqlParameter { Value = start + count });
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
        await using var batch = _dataSource.CreateBatch();
        batch.BatchCommands.Add(CheckpointInsert(ledgerId, checkpoint));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stores a checkpoint; an equal size stored already (by another node) is kept.</summary>
    private static NpgsqlBatchCommand CheckpointInsert(long ledgerId, StoredCheckpoint checkpoint) => Batched(
        """
        INSERT INTO checkpoints (ledger_id, size, root_hash, chain_head, signed_note, created_at)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING;
        """,
        new NpgsqlParameter { Value = ledgerId },
        new NpgsqlParameter { Value = checkpoint.Size },
        new NpgsqlParameter { Value = checkpoint.RootHash },
        new NpgsqlParameter { Value = (object?)checkpoint.ChainHead ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bytea },
        new NpgsqlParameter { Value = checkpoint.SignedNote },
        new NpgsqlParameter { Value = Micros(checkpoint.CreatedAt) });

    public async Task<StoredCheckpoint?> GetLatestCheckpointAsync(long ledgerId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(SelectCheckpoints + " WHERE ledger_id = $1 ORDER BY size DESC LIMIT 1;");
        command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadCheckpoint(reader) : null;
    }

    public async Task<IReadOnlyList<StoredCheckpoint>> ListCheckpointsAsync(long ledgerId, long fromSize, long toSize, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(SelectCheckpoints + " WHERE ledger_id = $1 AND size >= $2 AND size <= $3 ORDER BY size;");
        command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
        command.Parameters.Add(new NpgsqlParameter { Value = fromSize });
        command.Parameters.Add(new NpgsqlParameter { Value = toSize });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<StoredCheckpoint>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(ReadCheckpoint(reader));
        }

        return result;
    }

    public async Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var command = _dataSource.CreateCommand(
            """
            INSERT INTO api_keys (id, prefix, secret_hash, name, ledger, permissions, created_at, revoked_at, bootstrap)
            VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8);
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = key.Id });
        command.Parameters.Add(new NpgsqlParameter { Value = key.Prefix });
        command.Parameters.Add(new NpgsqlParameter { Value = key.SecretHash });
        command.Parameters.Add(new NpgsqlParameter { Value = key.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)key.Ledger ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = string.Join(',', key.Permissions) });
        command.Parameters.Add(new NpgsqlParameter { Value = Micros(key.CreatedAt) });
        command.Parameters.Add(new NpgsqlParameter { Value = key.IsBootstrap });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<ApiKeyRecord?> FindApiKeyByPrefixAsync(string prefix, CancellationToken cancellationToken) =>
        FindApiKeyAsync("prefix", prefix, cancellationToken);

    public Task<ApiKeyRecord?> GetApiKeyAsync(string id, CancellationToken cancellationToken) =>
        FindApiKeyAsync("id", id, cancellationToken);

    public async Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(string? ledger, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(ledger is null
            ? $"{SelectKeys} ORDER BY created_at, id;"
            : $"{SelectKeys} WHERE ledger = $1 ORDER BY created_at, id;");
        if (ledger is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = ledger });
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<ApiKeyRecord>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(ReadKey(reader));
        }

        return result;
    }

    public async Task<bool> RevokeApiKeyAsync(string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL;");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = Micros(now) });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<string?> GetSettingAsync(string name, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT value FROM settings WHERE name = $1;");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public async Task<bool> TrySetSettingAsync(string name, string value, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING;");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        command.Parameters.Add(new NpgsqlParameter { Value = value });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>First key of the two-key advisory locks that serialise export quota checks ("Ex" in ASCII).</summary>
    private const int ExportQuotaLockSpace = 0x4578;

    private const string SelectExports =
        "SELECT id, ledger_id, request, created_by, created_at, state, rows_done, rows_total, file_name, file_size, error, started_at, finished_at, expires_at, worker, lease_until FROM exports";

    public async Task<bool> TryAddExportAsync(ExportJob job, DateTimeOffset quotaSince, long quota, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // Under READ COMMITTED two transactions could both count below the quota; a transaction-scoped
        // advisory lock per ledger (in its own key space) serialises the check across Stele nodes.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1, $2);", connection, transaction))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter { Value = ExportQuotaLockSpace });
            lockCommand.Parameters.Add(new NpgsqlParameter { Value = unchecked((int)job.LedgerId) });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var command = new NpgsqlCommand(
            """
            INSERT INTO exports (id, state, rows_done, rows_total, file_name, file_size, error, started_at, finished_at, expires_at, worker, lease_until,
                ledger_id, request, created_by, created_at)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16
            WHERE (SELECT COUNT(*) FROM exports WHERE ledger_id = $13 AND created_at >= $17) < $18;
            """,
            connection,
            transaction);
        AddExportState(command, job);
        command.Parameters.Add(new NpgsqlParameter { Value = job.LedgerId });
        command.Parameters.Add(new NpgsqlParameter { Value = job.Request });
        command.Parameters.Add(new NpgsqlParameter { Value = job.CreatedBy });
        command.Parameters.Add(new NpgsqlParameter { Value = Micros(job.CreatedAt) });
        command.Parameters.Add(new NpgsqlParameter { Value = Micros(quotaSince) });
        command.Parameters.Add(new NpgsqlParameter { Value = quota });
        var added = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return added;
    }

    public async Task<ExportJob?> GetExportAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"{SelectExports} WHERE id = $1;");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadExport(reader) : null;
    }

    public async Task<IReadOnlyList<ExportJob>> ListUnfinishedExportsAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"{SelectExports} WHERE state IN ('queued', 'running') ORDER BY created_at, id;");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<ExportJob>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(ReadExport(reader));
        }

        return result;
    }

    public async Task<ExportJob?> TryClaimExportAsync(
        string id, string worker, DateTimeOffset now, DateTimeOffset leaseUntil, int perLedgerLimit, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // The job's ledger, and a lock on its row so two nodes cannot both see it claimable.
        long ledgerId;
        await using (var find = new NpgsqlCommand("SELECT ledger_id FROM exports WHERE id = $1 FOR UPDATE;", connection, transaction))
        {
            find.Parameters.Add(new NpgsqlParameter { Value = id });
            if (await find.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not long found)
            {
                return null;
            }

            ledgerId = found;
        }

        // The per-ledger limit counts other rows, which a row lock does not cover: the same per-ledger
        // advisory lock as the quota check serialises claims of one ledger across nodes.
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1, $2);", connection, transaction))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter { Value = ExportQuotaLockSpace });
            lockCommand.Parameters.Add(new NpgsqlParameter { Value = unchecked((int)ledgerId) });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var command = new NpgsqlCommand(
            $"""
            UPDATE exports SET state = 'running', rows_done = 0, rows_total = NULL, error = NULL, started_at = $2, worker = $3, lease_until = $4
            WHERE id = $1
              AND (state = 'queued' OR (state = 'running' AND (lease_until IS NULL OR lease_until < $2)))
              AND (SELECT COUNT(*) FROM exports AS other
                   WHERE other.ledger_id = exports.ledger_id AND other.id <> $1 AND other.state = 'running' AND other.lease_until >= $2) < $5
            RETURNING {SelectExports["SELECT ".Length..SelectExports.IndexOf(" FROM", StringComparison.Ordinal)]};
            """,
            connection,
            transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = Micros(now) });
        command.Parameters.Add(new NpgsqlParameter { Value = worker });
        command.Parameters.Add(new NpgsqlParameter { Value = Micros(leaseUntil) });
        command.Parameters.Add(new NpgsqlParameter { Value = (long)perLedgerLimit });
        ExportJob? claimed = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                claimed = ReadExport(reader);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return claimed;
    }

    public async Task<bool> UpdateExportAsync(ExportJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        await using var command = _dataSource.CreateCommand(
            """
            UPDATE exports SET state = $2, rows_done = $3, rows_total = $4, file_name = $5, file_size = $6, error = $7,
                started_at = $8, finished_at = $9, expires_at = $10, lease_until = $12
            WHERE id = $1 AND worker IS NOT DISTINCT FROM $11;
            """);
        AddExportState(command, job);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<long> CountExportsSinceAsync(long ledgerId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT COUNT(*) FROM exports WHERE ledger_id = $1 AND created_at >= $2;");
        command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });
        command.Parameters.Add(new NpgsqlParameter { Value = Micros(since) });
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Parameters $1 to $12: id, then the mutable columns, then worker and lease.</summary>
    private static void AddExportState(NpgsqlCommand command, ExportJob job)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = job.Id });
        command.Parameters.Add(new NpgsqlParameter { Value = job.State });
        command.Parameters.Add(new NpgsqlParameter { Value = job.RowsDone });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)job.RowsTotal ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)job.FileName ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)job.FileSize ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)job.Error ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = job.StartedAt is { } started ? Micros(started) : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = job.FinishedAt is { } finished ? Micros(finished) : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = job.ExpiresAt is { } expires ? Micros(expires) : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)job.Worker ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = job.LeaseUntil is { } lease ? Micros(lease) : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
    }

    private static ExportJob ReadExport(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetString(0),
        LedgerId = reader.GetInt64(1),
        Request = reader.GetString(2),
        CreatedBy = reader.GetString(3),
        CreatedAt = FromMicros(reader.GetInt64(4)),
        State = reader.GetString(5),
        RowsDone = reader.GetInt64(6),
        RowsTotal = reader.IsDBNull(7) ? null : reader.GetInt64(7),
        FileName = reader.IsDBNull(8) ? null : reader.GetString(8),
        FileSize = reader.IsDBNull(9) ? null : reader.GetInt64(9),
        Error = reader.IsDBNull(10) ? null : reader.GetString(10),
        StartedAt = reader.IsDBNull(11) ? null : FromMicros(reader.GetInt64(11)),
        FinishedAt = reader.IsDBNull(12) ? null : FromMicros(reader.GetInt64(12)),
        ExpiresAt = reader.IsDBNull(13) ? null : FromMicros(reader.GetInt64(13)),
        Worker = reader.IsDBNull(14) ? null : reader.GetString(14),
        LeaseUntil = reader.IsDBNull(15) ? null : FromMicros(reader.GetInt64(15)),
    };

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    /// <summary>
    /// Builds the <c>GET /events</c> query. Every filter maps onto one of the indexes in
    /// <see cref="PostgresSchema"/>; the parameters are sent with the statement (unnamed, planned
    /// with their values), so a LIKE with a literal prefix becomes an index range.
    /// </summary>
    internal static NpgsqlCommand CreateQueryCommand(NpgsqlConnection connection, long ledgerId, EventQuery query)
    {
        var command = new NpgsqlCommand { Connection = connection };
        var sql = new StringBuilder(SelectColumns).Append(" FROM event_fields f JOIN events e ON e.ledger_id = f.ledger_id AND e.seq = f.seq WHERE f.ledger_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = ledgerId });

        string Parameter(object value)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
            return "$" + command.Parameters.Count.ToString(CultureInfo.InvariantCulture);
        }

        void Equal(string column, string? value)
        {
            if (value is not null)
            {
                sql.Append(CultureInfo.InvariantCulture, $" AND f.{column} = {Parameter(value)}");
            }
        }

        Equal("actor_id", query.ActorId);
        Equal("resource", query.Resource);
        Equal("resource_id", query.ResourceId);
        Equal("tenant_id", query.TenantId);
        Equal("session_id", query.SessionId);
        Equal("ip_country", query.IpCountry);
        Equal("outcome", query.Outcome);

        if (query.Action is { } action)
        {
            if (!action.Contains('*', StringComparison.Ordinal))
            {
                sql.Append(" AND f.action = ").Append(Parameter(action));
            }
            else if (action[0] == '*' && action[^1] != '*')
            {
                // A literal tail is a literal prefix of the reversed action: served by events_by_action_suffix.
                sql.Append(" AND f.action_rev LIKE ").Append(Parameter(ToLike(Reverse(action))));
            }
            else
            {
                sql.Append(" AND f.action LIKE ").Append(Parameter(ToLike(action)));
            }
        }

        if (query.TargetType is not null || query.TargetId is not null)
        {
            sql.Append(" AND f.seq IN (SELECT t.seq FROM event_targets t WHERE t.ledger_id = $1");
            if (query.TargetType is not null)
            {
                sql.Append(" AND t.type = ").Append(Parameter(query.TargetType));
            }

            if (query.TargetId is not null)
            {
                sql.Append(" AND t.target_id = ").Append(Parameter(query.TargetId));
            }

            sql.Append(')');
        }

        if (query.FromMicros is { } from)
        {
            sql.Append(" AND f.occurred_at >= ").Append(Parameter(from));
        }

        if (query.ToMicros is { } to)
        {
            sql.Append(" AND f.occurred_at < ").Append(Parameter(to));
        }

        if (!string.IsNullOrEmpty(query.Search))
        {
            sql.Append(" AND f.seq IN (SELECT s.seq FROM event_search s WHERE s.ledger_id = $1 AND s.text LIKE ")
                .Append(Parameter("%" + EscapeLike(FoldCase(query.Search)) + "%"))
                .Append(')');
        }

        if (query.AfterSeq is { } after)
        {
            sql.Append(query.Ascending ? " AND f.seq > " : " AND f.seq < ").Append(Parameter(after));
        }

        sql.Append(query.Ascending ? " ORDER BY f.seq ASC" : " ORDER BY f.seq DESC");
        sql.Append(" LIMIT ").Append(Parameter((long)query.Limit + 1)).Append(';');
        command.CommandText = sql.ToString();
        return command;
    }

    /// <summary>
    /// Case folding for search, done here rather than with the database's lower() so the result
    /// does not depend on the cluster's locale (a C-locale cluster folds ASCII only).
    /// </summary>
    internal static string FoldCase(string text) => text.ToLowerInvariant();

    private static void AddEventInserts(NpgsqlBatch batch, long ledgerId, IReadOnlyList<StoredEvent> events)
    {
        batch.BatchCommands.Add(Batched(
            """
            INSERT INTO events (ledger_id, seq, id, received_at, idempotency_key, leaf, leaf_hash, chain_hash)
            SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bytea[], $7::bytea[], $8::bytea[]);
            """,
            new NpgsqlParameter { Value = ledgerId },
            new NpgsqlParameter { Value = events.Select(e => e.Seq).ToArray() },
            Texts(events.Select(e => e.Id)),
            new NpgsqlParameter { Value = events.Select(e => e.ReceivedAtMicros).ToArray() },
            Texts(events.Select(e => e.IdempotencyKey)),
            Bytes(events.Select(e => e.Leaf)),
            Bytes(events.Select(e => e.LeafHash)),
            Bytes(events.Select(e => e.ChainHash))));

        var withPayload = events.Where(e => e.Payload is not null).ToList();
        if (withPayload.Count > 0)
        {
            batch.BatchCommands.Add(Batched(
                "INSERT INTO payloads (ledger_id, seq, payload) SELECT $1, * FROM unnest($2::bigint[], $3::bytea[]);",
                new NpgsqlParameter { Value = ledgerId },
                new NpgsqlParameter { Value = withPayload.Select(e => e.Seq).ToArray() },
                Bytes(withPayload.Select(e => e.Payload!))));
        }
    }

    private static void AddIndexInserts(NpgsqlBatch batch, long ledgerId, IReadOnlyList<EventIndexEntry> entries)
    {
        batch.BatchCommands.Add(Batched(
            """
            INSERT INTO event_fields (ledger_id, seq, occurred_at, actor_id, action, action_rev, resource, resource_id, tenant_id, session_id, ip_country, outcome)
            SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                $10::text[], $11::text[], $12::text[]);
            """,
            new NpgsqlParameter { Value = ledgerId },
            new NpgsqlParameter { Value = entries.Select(e => e.Seq).ToArray() },
            new NpgsqlParameter { Value = entries.Select(e => e.OccurredAtMicros).ToArray() },
            Texts(entries.Select(e => e.ActorId)),
            Texts(entries.Select(e => e.Action)),
            Texts(entries.Select(e => Reverse(e.Action))),
            Texts(entries.Select(e => e.Resource)),
            Texts(entries.Select(e => e.ResourceId)),
            Texts(entries.Select(e => e.TenantId)),
            Texts(entries.Select(e => e.SessionId)),
            Texts(entries.Select(e => e.IpCountry)),
            Texts(entries.Select(e => e.Outcome))));

        var targets = entries.SelectMany(e => e.Targets.Select((t, i) => (e.Seq, Position: i, Target: t))).ToList();
        if (targets.Count > 0)
        {
            batch.BatchCommands.Add(Batched(
                "INSERT INTO event_targets (ledger_id, seq, position, type, target_id) SELECT $1, * FROM unnest($2::bigint[], $3::integer[], $4::text[], $5::text[]);",
                new NpgsqlParameter { Value = ledgerId },
                new NpgsqlParameter { Value = targets.Select(t => t.Seq).ToArray() },
                new NpgsqlParameter { Value = targets.Select(t => t.Position).ToArray() },
                Texts(targets.Select(t => t.Target.Type)),
                Texts(targets.Select(t => t.Target.Id))));
        }

        var searchable = entries.Where(e => !string.IsNullOrEmpty(e.SearchText)).ToList();
        if (searchable.Count > 0)
        {
            batch.BatchCommands.Add(Batched(
                "INSERT INTO event_search (ledger_id, seq, text) SELECT $1, * FROM unnest($2::bigint[], $3::text[]);",
                new NpgsqlParameter { Value = ledgerId },
                new NpgsqlParameter { Value = searchable.Select(e => e.Seq).ToArray() },
                Texts(searchable.Select(e => FoldCase(e.SearchText!)))));
        }
    }

    private static NpgsqlBatchCommand Batched(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlParameter Texts(IEnumerable<string?> values) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    private static NpgsqlParameter Bytes(IEnumerable<byte[]> values) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea };

    /// <summary>Turns a Stele pattern (only <c>*</c> is special) into a LIKE pattern with every other metacharacter escaped.</summary>
    private static string ToLike(string pattern) => EscapeLike(pattern).Replace('*', '%');

    /// <summary>Escapes LIKE's metacharacters with its default escape character, the backslash.</summary>
    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("%", "\\%", StringComparison.Ordinal)
            .Replace("_", "\\_", StringComparison.Ordinal);

    private static string Reverse(string value)
    {
        var chars = value.ToCharArray();
        Array.Reverse(chars);
        return new string(chars);
    }

    private static async Task<int> ReadSchemaVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        // to_regclass follows the search path, like every other statement of the store.
        await using var command = new NpgsqlCommand(
            "SELECT to_regclass('stele_schema') IS NOT NULL;", connection, transaction);
        if (!(bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
        {
            return 0;
        }

        command.CommandText = "SELECT COALESCE((SELECT version FROM stele_schema WHERE id = 1), 0);";
        return (int)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private static void CheckNotNewer(int version)
    {
        if (version > PostgresSchema.CurrentVersion)
        {
            throw new StorageVersionException(
                $"The PostgreSQL database has Stele schema version {version}; this Stele understands up to {PostgresSchema.CurrentVersion}. Upgrade Stele.");
        }
    }

    private static async Task<List<StoredEvent>> ReadEventsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var result = new List<StoredEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(EventRows.Read(reader));
        }

        return result;
    }

    private static byte[] ReadConcatenatedHashes(NpgsqlCommand command, int count)
    {
        using var reader = command.ExecuteReader();
        using var buffer = new MemoryStream(count * 32);
        while (reader.Read())
        {
            buffer.Write((byte[])reader[0]);
        }

        return buffer.ToArray();
    }

    private async Task<ApiKeyRecord?> FindApiKeyAsync(string column, string value, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"{SelectKeys} WHERE {column} = $1;");
        command.Parameters.Add(new NpgsqlParameter { Value = value });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadKey(reader) : null;
    }

    private static ApiKeyRecord ReadKey(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Prefix = reader.GetString(1),
        SecretHash = (byte[])reader[2],
        Name = reader.GetString(3),
        Ledger = NullableString(reader, 4),
        Permissions = reader.GetString(5).Split(',', StringSplitOptions.RemoveEmptyEntries),
        CreatedAt = FromMicros(reader.GetInt64(6)),
        RevokedAt = reader.IsDBNull(7) ? null : FromMicros(reader.GetInt64(7)),
        IsBootstrap = reader.GetBoolean(8),
    };

    private static StoredCheckpoint ReadCheckpoint(NpgsqlDataReader reader) => new(
        reader.GetInt64(0),
        (byte[])reader[1],
        reader.IsDBNull(2) ? null : (byte[])reader[2],
        (byte[])reader[3],
        FromMicros(reader.GetInt64(4)));

    private static LedgerInfo ReadLedger(NpgsqlDataReader reader) =>
        new(reader.GetInt64(0), reader.GetString(1), NullableString(reader, 2), FromMicros(reader.GetInt64(3)));

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static long Micros(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private static DateTimeOffset FromMicros(long micros) => DateTimeOffset.UnixEpoch.AddTicks(micros * 10);
}

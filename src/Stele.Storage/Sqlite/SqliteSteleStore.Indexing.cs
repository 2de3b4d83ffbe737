using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Stele.Storage.Sqlite;

/// <summary>The index file: opening (and rebuilding) it, the durable cursor, and writing index rows.</summary>
public sealed partial class SqliteSteleStore
{
    private readonly SemaphoreSlim _indexGate = new(1, 1);
    private readonly Dictionary<long, HashSet<string>> _knownActions = [];
    private readonly Dictionary<string, SqliteCommand> _indexCommands = new(StringComparer.Ordinal);
    private SqliteConnection? _indexWriter;

    public async Task<long> GetIndexedSizeAsync(long ledgerId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        return IndexedSize(connection, ledgerId);
    }

    public Task<IndexStatus> IndexAsync(long ledgerId, long expectedIndexedSize, IReadOnlyList<EventIndexEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return IndexChunksAsync(ledgerId, expectedIndexedSize, IndexChunks.One(entries), cancellationToken);
    }

    public async Task<IndexStatus> IndexChunksAsync(long ledgerId, long expectedIndexedSize, IAsyncEnumerable<IReadOnlyList<EventIndexEntry>> chunks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        RequireKeyedLedger(ledgerId);

        await _indexGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var writer = _indexWriter ?? throw new InvalidOperationException("The store is not initialised or already disposed.");
            // Disposed without a commit (an invalid chunk, a failure, a cancellation), it writes nothing.
            using var transaction = writer.BeginTransaction(deferred: false);
            var state = IndexCommand(writer, transaction, "SELECT indexed_size FROM index_state WHERE ledger_id = $ledger;", "$ledger");
            state.Parameters[0].Value = ledgerId;
            if ((state.ExecuteScalar() is long size ? size : 0) != expectedIndexedSize)
            {
                return IndexStatus.CursorMoved;
            }

            var next = expectedIndexedSize;
            EventIndexEntry? last = null;
            var newActions = new List<string>();
            await foreach (var entries in chunks.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                ArgumentNullException.ThrowIfNull(entries, nameof(chunks));
                if (entries.Count == 0)
                {
                    continue;
                }

                CheckStoredRun(ledgerId, next, entries);
                WriteIndexRows(writer, transaction, ledgerId, entries, newActions);
                next += entries.Count;
                last = entries[^1];
            }

            if (last is null)
            {
                return IndexStatus.Indexed;
            }

            var advance = IndexCommand(
                writer,
                transaction,
                """
                INSERT INTO index_state (ledger_id, indexed_size, last_event_id) VALUES ($ledger, $size, $last)
                ON CONFLICT (ledger_id) DO UPDATE SET indexed_size = excluded.indexed_size, last_event_id = excluded.last_event_id;
                """,
                "$ledger", "$size", "$last");
            advance.Parameters[0].Value = ledgerId;
            advance.Parameters[1].Value = next;
            advance.Parameters[2].Value = last.Id;
            advance.ExecuteNonQuery();

            transaction.Commit();
            KnownActions(writer, ledgerId).UnionWith(newActions);
            return IndexStatus.Indexed;
        }
        finally
        {
            _indexGate.Release();
        }
    }

    private static void RequireKeyedLedger(long ledgerId)
    {
        if (ledgerId < 0 || ledgerId > SqliteIndexSchema.MaxLedgerId)
        {
            throw new ArgumentOutOfRangeException(nameof(ledgerId), $"Ledger id {ledgerId} is beyond what the index key holds ({SqliteIndexSchema.MaxLedgerId}).");
        }
    }

    /// <summary>
    /// Checks that a chunk's entries have consecutive seqs from <paramref name="first"/>, within what the
    /// key holds, and that its first and last entries name the events stored at their seqs (only stored
    /// events are indexed).
    /// </summary>
    private void CheckStoredRun(long ledgerId, long first, IReadOnlyList<EventIndexEntry> entries)
    {
        IndexChunks.RequireConsecutive(entries, first);
        if (entries[^1].Seq > SqliteIndexSchema.MaxSeq)
        {
            throw new ArgumentException($"Seq {entries[^1].Seq} is beyond what the index key holds ({SqliteIndexSchema.MaxSeq}).", nameof(entries));
        }

        using var reader = OpenReader();
        foreach (var entry in entries.Count == 1 ? [entries[0]] : new[] { entries[0], entries[^1] })
        {
            using var command = reader.CreateCommand();
            command.CommandText = "SELECT id FROM events WHERE ledger_id = $ledger AND seq = $seq;";
            command.Parameters.AddWithValue("$ledger", ledgerId);
            command.Parameters.AddWithValue("$seq", entry.Seq);
            if (command.ExecuteScalar() is not string id || !string.Equals(id, entry.Id, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The index entry for seq {entry.Seq} does not describe the event stored there.", nameof(entries));
            }
        }
    }

    /// <summary>Inserts the rows; adds to <paramref name="newActions"/> the actions the ledger had not seen before (recorded once committed).</summary>
    private void WriteIndexRows(SqliteConnection writer, SqliteTransaction transaction, long ledgerId, IReadOnlyList<EventIndexEntry> entries, List<string> newActions)
    {
        var insertFields = IndexCommand(
            writer,
            transaction,
            """
            INSERT INTO event_fields (key, ledger_id, seq, occurred_at, actor_id, action, action_rev, resource, resource_id, tenant_id, session_id, ip_country, outcome)
            VALUES ($key, $ledger, $seq, $occurred_at, $actor_id, $action, $action_rev, $resource, $resource_id, $tenant_id, $session_id, $ip_country, $outcome);
            """,
            "$key", "$ledger", "$seq", "$occurred_at", "$actor_id", "$action", "$action_rev", "$resource", "$resource_id", "$tenant_id", "$session_id", "$ip_country", "$outcome");
        var p = insertFields.Parameters;
        var key = p[0];
        p[1].Value = ledgerId;
        var seq = p[2];
        var occurredAt = p[3];
        var actorId = p[4];
        var action = p[5];
        var actionRev = p[6];
        var resource = p[7];
        var resourceId = p[8];
        var tenantId = p[9];
        var sessionId = p[10];
        var ipCountry = p[11];
        var outcome = p[12];

        var insertTarget = IndexCommand(
            writer,
            transaction,
            "INSERT INTO event_targets (ledger_id, seq, position, type, target_id) VALUES ($ledger, $seq, $position, $type, $target_id);",
            "$ledger", "$seq", "$position", "$type", "$target_id");
        insertTarget.Parameters[0].Value = ledgerId;
        var targetSeq = insertTarget.Parameters[1];
        var targetPosition = insertTarget.Parameters[2];
        var targetType = insertTarget.Parameters[3];
        var targetId = insertTarget.Parameters[4];

        // The search text only; the search index over it is written later (IndexSearchAsync).
        var insertSearch = IndexCommand(writer, transaction, "INSERT INTO event_text (key, text) VALUES ($key, $text);", "$key", "$text");
        var searchKey = insertSearch.Parameters[0];
        var searchText = insertSearch.Parameters[1];

        var known = KnownActions(writer, ledgerId);
        var actionsBefore = newActions.Count;
        foreach (var e in entries)
        {
            var k = SqliteIndexSchema.Key(ledgerId, e.Seq);
            key.Value = k;
            seq.Value = e.Seq;
            occurredAt.Value = e.OccurredAtMicros;
            actorId.Value = e.ActorId;
            action.Value = e.Action;
            actionRev.Value = SqliteEventQuery.Reverse(e.Action);
            resource.Value = (object?)e.Resource ?? DBNull.Value;
            resourceId.Value = (object?)e.ResourceId ?? DBNull.Value;
            tenantId.Value = (object?)e.TenantId ?? DBNull.Value;
            sessionId.Value = (object?)e.SessionId ?? DBNull.Value;
            ipCountry.Value = (object?)e.IpCountry ?? DBNull.Value;
            outcome.Value = e.Outcome;
            insertFields.ExecuteNonQuery();

            for (var i = 0; i < e.Targets.Count; i++)
            {
                targetSeq.Value = e.Seq;
                targetPosition.Value = i;
                targetType.Value = e.Targets[i].Type;
                targetId.Value = (object?)e.Targets[i].Id ?? DBNull.Value;
                insertTarget.ExecuteNonQuery();
            }

            if (!string.IsNullOrEmpty(e.SearchText))
            {
                searchKey.Value = k;
                // Folded here (not by SQLite, which folds ASCII only) so short non-ASCII terms match too.
                searchText.Value = e.SearchText.ToLowerInvariant();
                insertSearch.ExecuteNonQuery();
            }

            if (!known.Contains(e.Action) && !newActions.Contains(e.Action, StringComparer.Ordinal))
            {
                newActions.Add(e.Action);
            }
        }

        if (newActions.Count > actionsBefore)
        {
            using var insertAction = writer.CreateCommand();
            insertAction.Transaction = transaction;
            insertAction.CommandText = "INSERT INTO event_actions (ledger_id, action) VALUES ($ledger, $action) ON CONFLICT DO NOTHING;";
            insertAction.Parameters.AddWithValue("$ledger", ledgerId);
            var newAction = insertAction.Parameters.Add("$action", SqliteType.Text);
            foreach (var a in newActions.Skip(actionsBefore))
            {
                newAction.Value = a;
                insertAction.ExecuteNonQuery();
            }
        }
    }

    /// <summary>A statement of the index writer kept prepared across transactions, its parameters declared in order. Call under the index gate.</summary>
    private SqliteCommand IndexCommand(SqliteConnection writer, SqliteTransaction transaction, string sql, params string[] parameters) =>
        _indexCommands.Cached(writer, transaction, sql, parameters);

    /// <summary>The ledger's actions recorded in <c>event_actions</c>, loaded once (only the index writer adds to them).</summary>
    private HashSet<string> KnownActions(SqliteConnection writer, long ledgerId)
    {
        if (_knownActions.TryGetValue(ledgerId, out var known))
        {
            return known;
        }

        known = new HashSet<string>(StringComparer.Ordinal);
        using var command = writer.CreateCommand();
        command.CommandText = "SELECT action FROM event_actions WHERE ledger_id = $ledger;";
        command.Parameters.AddWithValue("$ledger", ledgerId);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                known.Add(reader.GetString(0));
            }
        }

        _knownActions[ledgerId] = known;
        return known;
    }

    private static long IndexedSize(SqliteReaderPool.Lease connection, long ledgerId)
    {
        var command = connection.Prepared("SELECT indexed_size FROM ix.index_state WHERE ledger_id = $ledger;");
        command.Set("$ledger", ledgerId);
        return command.ExecuteScalar() is long size ? size : 0;
    }

    private static long SearchIndexedSize(SqliteReaderPool.Lease connection, long ledgerId)
    {
        var command = connection.Prepared("SELECT searched_size FROM ix.index_state WHERE ledger_id = $ledger;");
        command.Set("$ledger", ledgerId);
        return command.ExecuteScalar() is long size ? size : 0;
    }

    public async Task<long> GetSearchIndexedSizeAsync(long ledgerId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        return SearchIndexedSize(connection, ledgerId);
    }

    /// <summary>
    /// The search stage: feeds the stored search text of indexed, not yet searchable events into the
    /// trigram index, in slices of <see cref="SearchSlice"/> events inside one transaction, until
    /// <paramref name="maxEvents"/> or <paramref name="budget"/> is reached or it has caught up with the
    /// indexed size. Everything happens inside SQLite: the text is read from <c>event_text</c>, not decoded.
    /// </summary>
    public async Task<long> IndexSearchAsync(long ledgerId, int maxEvents, TimeSpan budget, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEvents);
        RequireKeyedLedger(ledgerId);
        await _indexGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var writer = _indexWriter ?? throw new InvalidOperationException("The store is not initialised or already disposed.");
            using var transaction = writer.BeginTransaction(deferred: false);
            var state = IndexCommand(writer, transaction, "SELECT indexed_size, searched_size FROM index_state WHERE ledger_id = $ledger;", "$ledger");
            state.Parameters[0].Value = ledgerId;
            long indexed, searched;
            using (var reader = state.ExecuteReader())
            {
                if (!reader.Read())
                {
                    return 0;
                }

                (indexed, searched) = (reader.GetInt64(0), reader.GetInt64(1));
            }

            var end = Math.Min(indexed, searched + maxEvents);
            if (end <= searched)
            {
                return 0;
            }

            var feed = IndexCommand(
                writer,
                transaction,
                "INSERT INTO event_search (rowid, text) SELECT key, text FROM event_text WHERE key >= $from AND key < $to ORDER BY key;",
                "$from", "$to");
            var started = Stopwatch.GetTimestamp();
            var next = searched;
            while (next < end && (next == searched || Stopwatch.GetElapsedTime(started) < budget))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var to = Math.Min(end, next + SearchSlice);
                feed.Parameters[0].Value = SqliteIndexSchema.Key(ledgerId, next);
                feed.Parameters[1].Value = SqliteIndexSchema.Key(ledgerId, to);
                feed.ExecuteNonQuery();
                next = to;
            }

            var advance = IndexCommand(writer, transaction, "UPDATE index_state SET searched_size = $size WHERE ledger_id = $ledger;", "$ledger", "$size");
            advance.Parameters[0].Value = ledgerId;
            advance.Parameters[1].Value = next;
            advance.ExecuteNonQuery();
            transaction.Commit();
            return next - searched;
        }
        finally
        {
            _indexGate.Release();
        }
    }

    /// <summary>
    /// Pages the index file's write-ahead log grows to (about 120 MiB) before it is copied back. The index
    /// writer alone, over 1,000,000 events in 5,000-event transactions, ran 1.4× faster with this than with
    /// SQLite's default of 1,000, and 2,000,000-event fills of the server 1.13× (docs/BENCHMARKS.md, seventh round).
    /// </summary>
    internal const int IndexWalCheckpointPages = 30_000;

    /// <summary>How many events the search stage feeds into the trigram index per statement (its budget is checked between statements).</summary>
    internal const int SearchSlice = 2000;

    /// <summary>
    /// Opens the index file, or builds it afresh when it is missing, of another layout version, or
    /// does not belong to the ledger file (its cursor names an event the ledger file does not hold at
    /// that seq: a ledger file restored from a backup without its index file, say). A fresh file
    /// starts every ledger's cursor at 0 and the indexer fills it from the stored events.
    /// </summary>
    private void OpenIndexFile(SqliteConnection ledgerFile)
    {
        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = IndexPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();

        for (var attempt = 0; ; attempt++)
        {
            var writer = new SqliteConnection(connectionString);
            writer.Open();
            // NORMAL: in WAL mode a commit is not fsync'd, but the file stays consistent; a commit lost
            // to a power failure is redone from the cursor, which is lost with it. The write-ahead log is
            // copied back into the file every IndexWalCheckpointPages pages rather than SQLite's 1,000: the
            // same index pages change in one transaction after another, and each is copied back once.
            Execute(writer, $"PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = {IndexWalCheckpointPages};");
            var problem = IndexFileProblem(writer, ledgerFile);
            if (problem is null)
            {
                if (Scalar(writer, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'stele_index_schema';") is 0L)
                {
                    using var transaction = writer.BeginTransaction();
                    Execute(writer, SqliteIndexSchema.Create, transaction);
                    Execute(writer, $"INSERT INTO stele_index_schema (id, version) VALUES (1, {SqliteIndexSchema.Version});", transaction);
                    transaction.Commit();
                }

                Execute(writer, SqliteSchema.AppendOnlyTriggers(SqliteIndexSchema.AppendOnlyTables));
                DisposeIndexCommands();
                var old = Interlocked.Exchange(ref _indexWriter, writer);
                old?.Dispose();
                _knownActions.Clear();

                return;
            }

            writer.Dispose();
            SqliteConnection.ClearAllPools();
            if (attempt > 0)
            {
                throw new InvalidOperationException($"The index file {IndexPath} could not be rebuilt: {problem}");
            }

            foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
            {
                File.Delete(IndexPath + suffix);
            }
        }
    }

    /// <summary>Why the index file must be rebuilt, or null when it is usable (or empty).</summary>
    private static string? IndexFileProblem(SqliteConnection index, SqliteConnection ledgerFile)
    {
        if (Scalar(index, "SELECT COUNT(*) FROM sqlite_master;") is 0L)
        {
            return null;
        }

        if (Scalar(index, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'stele_index_schema';") is 0L)
        {
            return "it is not a Stele index file";
        }

        var version = Convert.ToInt32(Scalar(index, "SELECT COALESCE((SELECT version FROM stele_index_schema WHERE id = 1), 0);"), CultureInfo.InvariantCulture);
        if (version != SqliteIndexSchema.Version)
        {
            return $"it has layout version {version}, not {SqliteIndexSchema.Version}";
        }

        var cursors = new List<(long Ledger, long Size, string? LastId)>();
        using (var command = index.CreateCommand())
        {
            command.CommandText = "SELECT ledger_id, indexed_size, last_event_id FROM index_state;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                cursors.Add((reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
            }
        }

        foreach (var (ledger, size, lastId) in cursors.Where(c => c.Size > 0))
        {
            using var command = ledgerFile.CreateCommand();
            command.CommandText = "SELECT id FROM events WHERE ledger_id = $ledger AND seq = $seq;";
            command.Parameters.AddWithValue("$ledger", ledger);
            command.Parameters.AddWithValue("$seq", size - 1);
            if (command.ExecuteScalar() is not string id || !string.Equals(id, lastId, StringComparison.Ordinal))
            {
                return $"its cursor of ledger {ledger} names an event the ledger file does not hold at seq {size - 1}";
            }
        }

        return null;
    }

    private void DisposeIndexCommands()
    {
        foreach (var command in _indexCommands.Values)
        {
            command.Dispose();
        }

        _indexCommands.Clear();
    }

    private async ValueTask DisposeIndexAsync()
    {
        await _indexGate.WaitAsync().ConfigureAwait(false);
        try
        {
            DisposeIndexCommands();
            if (_indexWriter is not null)
            {
                await _indexWriter.DisposeAsync().ConfigureAwait(false);
                _indexWriter = null;
            }
        }
        finally
        {
            _indexGate.Release();
        }

        _indexGate.Dispose();
    }
}

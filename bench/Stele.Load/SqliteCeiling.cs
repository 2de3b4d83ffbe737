using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Stele.Storage;
using Stele.Storage.Sqlite;

namespace Stele.Load;

/// <summary>
/// Ceilings for batch ingest, with no HTTP, no JSON validation, no encoding and no hashing, in
/// 1,000-row durable (WAL, <c>synchronous=FULL</c>) transactions of the same rows:
/// <list type="bullet">
/// <item><see cref="WithIndexesAsync"/>: what an application storing audit rows itself writes — one table with
/// every column <c>GET /events</c> filters on, the same ten secondary indexes, the two target indexes and the
/// trigram search index, all maintained in the durable transaction (the layout Stele had before it moved the
/// query indexes behind the write path).</item>
/// <item><see cref="DurableRowsAsync"/>: what Stele writes on its durable path now — events and payloads through
/// the store, no query index.</item>
/// </list>
/// </summary>
internal static class SqliteCeiling
{
    /// <summary>The pre-version-4 layout: every query index inside the durable transaction.</summary>
    private const string InlineSchema =
        """
        PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
        CREATE TABLE events (
            ledger_id INTEGER NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, received_at INTEGER NOT NULL, occurred_at INTEGER NOT NULL,
            actor_id TEXT NOT NULL, action TEXT NOT NULL, action_rev TEXT NOT NULL, resource TEXT, resource_id TEXT, tenant_id TEXT,
            session_id TEXT, ip_country TEXT, outcome TEXT NOT NULL, idempotency_key TEXT, leaf BLOB NOT NULL, leaf_hash BLOB NOT NULL,
            chain_hash BLOB NOT NULL, UNIQUE (ledger_id, seq));
        CREATE UNIQUE INDEX events_by_id ON events (id);
        CREATE UNIQUE INDEX events_by_idempotency_key ON events (ledger_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX events_by_actor ON events (ledger_id, actor_id, seq);
        CREATE INDEX events_by_action ON events (ledger_id, action, seq);
        CREATE INDEX events_by_action_suffix ON events (ledger_id, action_rev, seq);
        CREATE INDEX events_by_resource ON events (ledger_id, resource, seq);
        CREATE INDEX events_by_resource_id ON events (ledger_id, resource_id, seq);
        CREATE INDEX events_by_tenant ON events (ledger_id, tenant_id, seq);
        CREATE INDEX events_by_session ON events (ledger_id, session_id, seq);
        CREATE INDEX events_by_country ON events (ledger_id, ip_country, seq);
        CREATE INDEX events_by_outcome ON events (ledger_id, outcome, seq);
        CREATE INDEX events_by_occurred_at ON events (ledger_id, occurred_at, seq);
        CREATE TABLE payloads (ledger_id INTEGER NOT NULL, seq INTEGER NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (ledger_id, seq)) WITHOUT ROWID;
        CREATE TABLE event_targets (ledger_id INTEGER NOT NULL, seq INTEGER NOT NULL, position INTEGER NOT NULL, type TEXT NOT NULL, target_id TEXT,
            PRIMARY KEY (ledger_id, seq, position)) WITHOUT ROWID;
        CREATE INDEX event_targets_by_type ON event_targets (ledger_id, type, target_id, seq);
        CREATE INDEX event_targets_by_id ON event_targets (ledger_id, target_id, seq);
        CREATE VIRTUAL TABLE event_search USING fts5 (text, tokenize = 'trigram');
        """;

    public static async Task<ScenarioResult> WithIndexesAsync(int batches, int batchSize, TextWriter progress, CancellationToken cancellationToken)
    {
        var directory = NewDirectory();
        try
        {
            using var connection = new SqliteConnection($"Data Source={Path.Combine(directory, "ceiling.db")};Pooling=False");
            connection.Open();
            using (var create = connection.CreateCommand())
            {
                create.CommandText = InlineSchema;
                create.ExecuteNonQuery();
            }

            using var insert = connection.CreateCommand();
            insert.CommandText =
                """
                INSERT INTO events (ledger_id, seq, id, received_at, occurred_at, actor_id, action, action_rev, resource, resource_id, tenant_id,
                    session_id, ip_country, outcome, idempotency_key, leaf, leaf_hash, chain_hash)
                VALUES (1, $seq, $id, $seq, $seq, $actor, $action, $action_rev, 'document', $resource_id, $tenant, $session, NULL, 'success', NULL,
                    $leaf, $hash, $hash) RETURNING rowid;
                """;
            var seqParameter = insert.Parameters.Add("$seq", SqliteType.Integer);
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var actor = insert.Parameters.Add("$actor", SqliteType.Text);
            var action = insert.Parameters.Add("$action", SqliteType.Text);
            var actionRev = insert.Parameters.Add("$action_rev", SqliteType.Text);
            var resourceId = insert.Parameters.Add("$resource_id", SqliteType.Text);
            var tenant = insert.Parameters.Add("$tenant", SqliteType.Text);
            var session = insert.Parameters.Add("$session", SqliteType.Text);
            var leaf = insert.Parameters.Add("$leaf", SqliteType.Blob);
            insert.Parameters.AddWithValue("$hash", RandomNumberGenerator.GetBytes(32));
            using var payload = connection.CreateCommand();
            payload.CommandText = "INSERT INTO payloads (ledger_id, seq, payload) VALUES (1, $seq, $payload);";
            var payloadSeq = payload.Parameters.Add("$seq", SqliteType.Integer);
            var payloadBytes = payload.Parameters.Add("$payload", SqliteType.Blob);
            using var search = connection.CreateCommand();
            search.CommandText = "INSERT INTO event_search (rowid, text) VALUES ($rowid, $text);";
            var searchRowId = search.Parameters.Add("$rowid", SqliteType.Integer);
            var searchText = search.Parameters.Add("$text", SqliteType.Text);

            var recorder = new LatencyRecorder();
            var stopwatch = Stopwatch.StartNew();
            long seq = 0;
            for (var b = 0; b < batches; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var start = Stopwatch.GetTimestamp();
                using var transaction = connection.BeginTransaction();
                insert.Transaction = payload.Transaction = search.Transaction = transaction;
                for (var i = 0; i < batchSize; i++, seq++)
                {
                    var row = Row(b, seq);
                    seqParameter.Value = seq;
                    id.Value = row.Id;
                    actor.Value = row.Actor;
                    action.Value = row.Action;
                    actionRev.Value = new string(row.Action.Reverse().ToArray());
                    resourceId.Value = row.ResourceId;
                    tenant.Value = row.Tenant;
                    session.Value = row.Session;
                    leaf.Value = row.Leaf;
                    var rowId = (long)insert.ExecuteScalar()!;
                    payloadSeq.Value = seq;
                    payloadBytes.Value = row.Payload;
                    payload.ExecuteNonQuery();
                    searchRowId.Value = rowId;
                    searchText.Value = row.Json.ToLowerInvariant();
                    search.ExecuteNonQuery();
                }

                transaction.Commit();
                recorder.Record(start);
                if (b % 20 == 0)
                {
                    await progress.WriteLineAsync($"sqlite ceiling with indexes: {seq:N0} rows").ConfigureAwait(false);
                }
            }

            var (p50, p99, p999, max) = recorder.Percentiles();
            return new ScenarioResult("raw SQLite, same rows and indexes in-line", 1, recorder.Count, seq, 0, stopwatch.Elapsed, p50, p99, p999, max);
        }
        finally
        {
            Delete(directory);
        }
    }

    public static async Task<ScenarioResult> DurableRowsAsync(int batches, int batchSize, TextWriter progress, CancellationToken cancellationToken)
    {
        var directory = NewDirectory();
        try
        {
            var (store, ledger) = await NewStoreAsync(directory, cancellationToken).ConfigureAwait(false);
            await using var disposeStore = store.ConfigureAwait(false);
            var hash = RandomNumberGenerator.GetBytes(32);
            var recorder = new LatencyRecorder();
            var stopwatch = Stopwatch.StartNew();
            long seq = 0;
            for (var b = 0; b < batches; b++)
            {
                var rows = new List<StoredEvent>(batchSize);
                for (var i = 0; i < batchSize; i++, seq++)
                {
                    var row = Row(b, seq);
                    rows.Add(new StoredEvent { Seq = seq, Id = row.Id, ReceivedAtMicros = seq, Leaf = row.Leaf, LeafHash = hash, ChainHash = hash, Payload = row.Payload });
                }

                var start = Stopwatch.GetTimestamp();
                await store.AppendAsync(ledger.Id, seq - batchSize, rows, [], cancellationToken).ConfigureAwait(false);
                recorder.Record(start);
                if (b % 20 == 0)
                {
                    await progress.WriteLineAsync($"sqlite ceiling, durable rows: {seq:N0} rows").ConfigureAwait(false);
                }
            }

            var (p50, p99, p999, max) = recorder.Percentiles();
            return new ScenarioResult("raw SQLite, durable rows only", 1, recorder.Count, seq, 0, stopwatch.Elapsed, p50, p99, p999, max);
        }
        finally
        {
            Delete(directory);
        }
    }

    private static (string Id, string Actor, string Action, string ResourceId, string Tenant, string Session, byte[] Leaf, byte[] Payload, string Json) Row(int batch, long seq)
    {
        var json = LoadRunner.EventJson(batch % 64, seq);
        return (
            "evt_" + seq.ToString("D26", CultureInfo.InvariantCulture),
            "user_" + (seq % 5000),
            seq % 7 == 0 ? "document.deleted" : "document.viewed",
            "doc_" + seq,
            "tenant_" + (seq % 50),
            $"ses_{batch % 64}_{seq / 20}",
            Encoding.UTF8.GetBytes(json[..Math.Min(json.Length, 300)]),
            Encoding.UTF8.GetBytes(json),
            json);
    }

    /// <summary>A store in <paramref name="directory"/> with one empty ledger, "default".</summary>
    internal static async Task<(SqliteSteleStore Store, LedgerInfo Ledger)> NewStoreAsync(string directory, CancellationToken cancellationToken)
    {
        var store = new SqliteSteleStore(Path.Combine(directory, "stele.db"));
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        return (store, (await store.CreateLedgerAsync("default", null, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false))!);
    }

    internal static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "stele-ceiling-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }

    internal static void Delete(string directory)
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

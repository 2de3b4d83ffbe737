using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Stele.Storage;

namespace Stele.Load;

/// <summary>
/// The SQLite index writer on its own (<c>ISteleStore.IndexAsync</c>, the real index file), with no HTTP
/// and no ingestion competing for the cores: how many events a second it indexes, as the indexes grow,
/// with transactions of each given size. Events are appended through the store first (untimed), and
/// each index transaction is timed once as many unindexed events as its size exist.
/// </summary>
internal static class IndexWriterBench
{
    public static async Task<ScenarioResult> RunAsync(long events, int transactionSize, TextWriter progress, CancellationToken cancellationToken)
    {
        var directory = SqliteCeiling.NewDirectory();
        try
        {
            var (store, ledger) = await SqliteCeiling.NewStoreAsync(directory, cancellationToken).ConfigureAwait(false);
            await using var disposeStore = store.ConfigureAwait(false);
            var hash = RandomNumberGenerator.GetBytes(32);
            var recorder = new LatencyRecorder();
            var indexing = TimeSpan.Zero;
            var pending = new List<EventIndexEntry>(transactionSize);
            long indexed = 0;
            const int AppendBatch = 1000;
            for (long seq = 0; seq < events;)
            {
                var rows = new List<StoredEvent>(AppendBatch);
                var first = seq;
                for (var i = 0; i < AppendBatch && seq < events; i++, seq++)
                {
                    var (stored, entry) = Event(seq, hash);
                    rows.Add(stored);
                    pending.Add(entry);
                }

                await store.AppendAsync(ledger.Id, first, rows, [], cancellationToken).ConfigureAwait(false);
                if (pending.Count >= transactionSize || seq == events)
                {
                    var start = Stopwatch.GetTimestamp();
                    var status = await store.IndexAsync(ledger.Id, indexed, pending, cancellationToken).ConfigureAwait(false);
                    if (status != IndexStatus.Indexed)
                    {
                        throw new InvalidOperationException("The index cursor moved.");
                    }

                    recorder.Record(start);
                    indexing += Stopwatch.GetElapsedTime(start);
                    indexed += pending.Count;
                    pending.Clear();
                    if (recorder.Count % Math.Max(1, 100_000 / transactionSize) == 0)
                    {
                        await progress.WriteLineAsync($"index writer, {transactionSize:N0}/transaction: {indexed:N0} events indexed").ConfigureAwait(false);
                    }
                }
            }

            var (p50, p99, p999, max) = recorder.Percentiles();
            return new ScenarioResult($"index writer alone ({transactionSize:N0}/transaction)", 1, recorder.Count, indexed, 0, indexing, p50, p99, p999, max);
        }
        finally
        {
            SqliteCeiling.Delete(directory);
        }
    }

    /// <summary>A stored row and its index entry, shaped like <see cref="LoadRunner.EventJson"/>'s events.</summary>
    private static (StoredEvent Stored, EventIndexEntry Entry) Event(long seq, byte[] hash)
    {
        var client = (int)(seq % 64);
        var json = LoadRunner.EventJson(client, seq);
        var id = "evt_" + seq.ToString("D26", CultureInfo.InvariantCulture);
        var bytes = System.Text.Encoding.UTF8.GetBytes(json);
        var action = seq % 7 == 0 ? "document.deleted" : "document.viewed";
        var stored = new StoredEvent { Seq = seq, Id = id, ReceivedAtMicros = seq, Leaf = bytes, LeafHash = hash, ChainHash = hash, Payload = bytes };
        var entry = new EventIndexEntry
        {
            Seq = seq,
            Id = id,
            OccurredAtMicros = 1_700_000_000_000_000 + (seq * 1000),
            ActorId = "user_" + (seq % 5000),
            Action = action,
            TenantId = "tenant_" + (seq % 50),
            SessionId = $"ses_{client}_{seq / 20}",
            Outcome = "success",
            // What EventSearchText makes of the same event: action, actor, names, metadata keys and values.
            SearchText = $"{action}\nuser_{seq % 5000}\nLoad Test User {client}\nrequest_id\nreq-{client}-{seq}\nbytes\n{seq % 100000}\npath\n/api/documents/{seq}\n",
        };
        return (stored, entry);
    }
}

using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Stele.Storage;
using Stele.Storage.Sqlite;

namespace Stele.Load;

/// <summary>
/// The ceiling for batch ingest: the same rows written to the same SQLite schema and indexes, in
/// 1,000-row durable transactions, with no HTTP, no JSON validation, no encoding and no hashing.
/// </summary>
internal static class SqliteCeiling
{
    public static async Task<ScenarioResult> RunAsync(int batches, int batchSize, TextWriter progress, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(Path.GetTempPath(), "stele-ceiling-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var store = new SqliteSteleStore(Path.Combine(directory, "stele.db"));
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
            var ledger = (await store.CreateLedgerAsync("default", null, DateTimeOffset.UtcNow, cancellationToken).ConfigureAwait(false))!;
            var hash = RandomNumberGenerator.GetBytes(32);
            var recorder = new LatencyRecorder();
            var stopwatch = Stopwatch.StartNew();
            long seq = 0;
            for (var b = 0; b < batches; b++)
            {
                var rows = new List<StoredEvent>(batchSize);
                for (var i = 0; i < batchSize; i++, seq++)
                {
                    var json = LoadRunner.EventJson(b % 64, seq);
                    rows.Add(new StoredEvent
                    {
                        Seq = seq,
                        Id = "evt_" + seq.ToString("D26", System.Globalization.CultureInfo.InvariantCulture),
                        ReceivedAtMicros = seq,
                        OccurredAtMicros = seq,
                        ActorId = "user_" + (seq % 5000),
                        Action = seq % 7 == 0 ? "document.deleted" : "document.viewed",
                        Resource = "document",
                        ResourceId = "doc_" + seq,
                        TenantId = "tenant_" + (seq % 50),
                        SessionId = $"ses_{b % 64}_{seq / 20}",
                        Outcome = "success",
                        Leaf = Encoding.UTF8.GetBytes(json[..Math.Min(json.Length, 300)]),
                        LeafHash = hash,
                        ChainHash = hash,
                        Payload = Encoding.UTF8.GetBytes(json),
                        SearchText = json,
                    });
                }

                var start = Stopwatch.GetTimestamp();
                await store.AppendAsync(ledger.Id, seq - batchSize, rows, [], cancellationToken).ConfigureAwait(false);
                recorder.Record(start);
                if (b % 20 == 0)
                {
                    await progress.WriteLineAsync($"sqlite ceiling: {seq:N0} rows").ConfigureAwait(false);
                }
            }

            var (p50, p99, p999, max) = recorder.Percentiles();
            return new ScenarioResult("raw SQLite, same rows and indexes", 1, recorder.Count, seq, 0, stopwatch.Elapsed, p50, p99, p999, max);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

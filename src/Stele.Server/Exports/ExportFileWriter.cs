using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Stele.Core.Merkle;
using Stele.Core.Tiles;
using Stele.Server.Api;
using Stele.Server.Indexing;
using Stele.Server.Integrity;
using Stele.Storage;

namespace Stele.Server.Exports;

/// <summary>
/// Writes one export file: the events matching the request's filters, newest first (the order of
/// <c>GET /events</c>), below a fixed seq bound taken when the job starts, so the file is a
/// consistent snapshot while ingestion goes on. Memory stays bounded: events are read in pages and
/// written as they come.
/// </summary>
/// <remarks>
/// The proof bundle (<c>jsonl</c> with <c>include_proofs</c>; docs/INTEGRITY.md, "Export bundles"):
/// a <c>checkpoint</c> line, one <c>event</c> line per event with its leaf, payload and inclusion
/// proof against that checkpoint and <c>prev_seq</c> (the seq of the line before), and an
/// <c>end</c> line with the event count and a digest of the seq list, so a removed, added or
/// reordered line is detected.
/// </remarks>
internal sealed class ExportFileWriter(ISteleStore store, EventIndexer indexer, TimeProvider clock)
{
    private const int PageSize = 1000;
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Called with (rows done, rows total) as the export advances.</summary>
    public delegate Task ProgressCallback(long rowsDone, long rowsTotal);

    /// <summary>How long a proof export waits for a checkpoint that covers the ledger's head.</summary>
    public static TimeSpan CheckpointWait { get; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a filtered export waits for the query indexes to reach its bound.</summary>
    public static TimeSpan IndexWait { get; } = TimeSpan.FromMinutes(10);

    public async Task<long> WriteAsync(LedgerInfo ledger, ExportRequest request, Stream destination, ProgressCallback progress, CancellationToken cancellationToken)
    {
        var head = await store.GetHeadAsync(ledger.Id, cancellationToken).ConfigureAwait(false);
        StoredCheckpoint? checkpoint = null;
        var bound = head.Size;
        if (request.IncludeProofs)
        {
            checkpoint = await WaitForCheckpointAsync(ledger, head.Size, cancellationToken).ConfigureAwait(false);
            bound = checkpoint.Size;
        }

        if (request.Filters.Count > 0)
        {
            // Filters are answered from the query indexes, which run behind ingestion: wait until they
            // cover every event below the bound, so the file holds every event acknowledged before the
            // export was requested. (Without filters the events themselves are read.)
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(IndexWait);
            try
            {
                await indexer.WaitForIndexedAsync(ledger, bound, wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ExportFailedException($"The query indexes did not reach the ledger's {bound} events within {IndexWait.TotalMinutes:0} minutes.");
            }
        }

        var total = request.Filters.Count == 0 ? bound : await CountAsync(ledger, request, bound, cancellationToken).ConfigureAwait(false);
        await progress(0, total).ConfigureAwait(false);

        // The destination buffers (a FileStream); gzip gets a buffer in front so it compresses big blocks.
        // Disposing the gzip stream writes its trailer and leaves the destination open.
        var output = request.Gzip
            ? new BufferedStream(new GZipStream(destination, CompressionLevel.Optimal, leaveOpen: true), 1 << 16)
            : null;
        try
        {
            var target = output ?? destination;
            long done;
            if (request.Format == ExportRequest.Csv)
            {
                var text = new StreamWriter(target, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16, leaveOpen: true);
                await using (text.ConfigureAwait(false))
                {
                    var csv = new CsvEventWriter(text);
                    csv.WriteHeader();
                    done = await ForEachAsync(ledger, request, bound, total, progress, e => csv.Write(ledger.Name, e), cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                done = await WriteJsonLinesAsync(ledger, request, bound, total, checkpoint, target, progress, cancellationToken).ConfigureAwait(false);
            }

            await target.FlushAsync(cancellationToken).ConfigureAwait(false);
            return done;
        }
        finally
        {
            if (output is not null)
            {
                await output.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<long> WriteJsonLinesAsync(
        LedgerInfo ledger, ExportRequest request, long bound, long total, StoredCheckpoint? checkpoint, Stream output, ProgressCallback progress, CancellationToken cancellationToken)
    {
        var w = new Utf8JsonWriter(output, JsonOptions);
        await using (w.ConfigureAwait(false))
        {
            if (checkpoint is null)
            {
                return await ForEachAsync(ledger, request, bound, total, progress, e => Line(w, output, () => EventJson.Write(w, ledger.Name, e)), cancellationToken).ConfigureAwait(false);
            }

            Line(w, output, () =>
            {
                w.WriteStartObject();
                w.WriteString("type", "checkpoint");
                w.WriteString("ledger", ledger.Name);
                w.WriteNumber("tree_size", checkpoint.Size);
                w.WriteString("root_hash", Convert.ToHexStringLower(checkpoint.RootHash));
                w.WriteString("signed_note", Encoding.UTF8.GetString(checkpoint.SignedNote));
                w.WritePropertyName("request");
                request.WriteTo(w);
                w.WriteEndObject();
            });

            var source = CachedNodeSource(ledger.Id, checkpoint.Size);
            using var seqDigest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var seqBytes = new byte[8];
            long? previous = null;
            var count = await ForEachAsync(ledger, request, bound, total, progress, e =>
            {
                var proof = MerkleProofs.Inclusion(e.Seq, checkpoint.Size, source);
                Line(w, output, () =>
                {
                    w.WriteStartObject();
                    w.WriteString("type", "event");
                    if (previous is { } p)
                    {
                        w.WriteNumber("prev_seq", p);
                    }
                    else
                    {
                        w.WriteNull("prev_seq");
                    }

                    w.WritePropertyName("event");
                    EventJson.Write(w, ledger.Name, e);
                    w.WriteBase64String("leaf", e.Leaf);
                    if (e.Payload is null)
                    {
                        w.WriteNull("payload");
                    }
                    else
                    {
                        w.WriteBase64String("payload", e.Payload);
                    }

                    w.WriteStartObject("inclusion_proof");
                    w.WriteNumber("leaf_index", e.Seq);
                    w.WriteNumber("tree_size", checkpoint.Size);
                    w.WriteStartArray("hashes");
                    foreach (var hash in proof)
                    {
                        w.WriteStringValue(Convert.ToHexStringLower(hash));
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                    w.WriteEndObject();
                });
                BinaryPrimitives.WriteInt64BigEndian(seqBytes, e.Seq);
                seqDigest.AppendData(seqBytes);
                previous = e.Seq;
            }, cancellationToken).ConfigureAwait(false);

            Line(w, output, () =>
            {
                w.WriteStartObject();
                w.WriteString("type", "end");
                w.WriteNumber("event_count", count);
                if (previous is { } last)
                {
                    w.WriteNumber("last_seq", last);
                }
                else
                {
                    w.WriteNull("last_seq");
                }

                w.WriteString("seqs_sha256", Convert.ToHexStringLower(seqDigest.GetHashAndReset()));
                w.WriteEndObject();
            });
            return count;
        }
    }

    private static void Line(Utf8JsonWriter w, Stream output, Action write)
    {
        write();
        w.Flush();
        w.Reset();
        output.WriteByte((byte)'\n');
    }

    private async Task<long> ForEachAsync(
        LedgerInfo ledger, ExportRequest request, long bound, long total, ProgressCallback progress, Action<StoredEvent> write, CancellationToken cancellationToken)
    {
        long done = 0;
        var before = bound;
        var lastReport = clock.GetTimestamp();
        while (before > 0)
        {
            var page = await store.QueryEventsAsync(ledger.Id, request.ToQuery(before, PageSize), cancellationToken).ConfigureAwait(false);
            foreach (var e in page.Events)
            {
                write(e);
                done++;
            }

            if (page.Events.Count == 0 || !page.HasMore)
            {
                break;
            }

            before = page.Events[^1].Seq;
            if (clock.GetElapsedTime(lastReport) > TimeSpan.FromMilliseconds(500))
            {
                lastReport = clock.GetTimestamp();
                await progress(done, Math.Max(total, done)).ConfigureAwait(false);
            }
        }

        return done;
    }

    private async Task<long> CountAsync(LedgerInfo ledger, ExportRequest request, long bound, CancellationToken cancellationToken)
    {
        long count = 0;
        var before = bound;
        while (before > 0)
        {
            var page = await store.QueryEventsAsync(ledger.Id, request.ToQuery(before, PageSize), cancellationToken).ConfigureAwait(false);
            count += page.Events.Count;
            if (page.Events.Count == 0 || !page.HasMore)
            {
                break;
            }

            before = page.Events[^1].Seq;
        }

        return count;
    }

    private async Task<StoredCheckpoint> WaitForCheckpointAsync(LedgerInfo ledger, long size, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        while (true)
        {
            var latest = await store.GetLatestCheckpointAsync(ledger.Id, cancellationToken).ConfigureAwait(false);
            if (latest is not null && latest.Size >= size)
            {
                return latest;
            }

            if (clock.GetElapsedTime(started) > CheckpointWait)
            {
                throw new ExportFailedException($"No signed checkpoint covered the ledger's {size} events within {CheckpointWait.TotalSeconds:0} s.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), clock, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Proofs for consecutive seqs share most tiles, so the last few tiles read are kept (bounded);
    /// without this every proof would read its tiles from the store again.
    /// </summary>
    private TileNodeSource CachedNodeSource(long ledgerId, long treeSize)
    {
        var cache = new Dictionary<TileCoordinate, byte[]>();
        return new TileNodeSource(treeSize, tile =>
        {
            if (cache.TryGetValue(tile, out var hashes))
            {
                return hashes;
            }

            if (cache.Count >= 64)
            {
                cache.Clear();
            }

            hashes = StoredTiles.Read(store, ledgerId, tile);
            cache[tile] = hashes;
            return hashes;
        });
    }
}

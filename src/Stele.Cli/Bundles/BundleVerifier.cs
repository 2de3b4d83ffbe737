using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Stele.Core.Checkpoints;
using Stele.Core.Events;
using Stele.Core.Merkle;
using Stele.Core.Notes;
using Stele.Server.Api;
using Stele.Storage;

namespace Stele.Cli.Bundles;

/// <summary>
/// Checks an export bundle (JSON Lines with proofs, optionally gzip'd; docs/INTEGRITY.md, "Export
/// bundles") without a server: the checkpoint's signature and origin against a pinned verifier key,
/// each event's leaf hash through its inclusion proof to the checkpoint's root, each payload
/// against the leaf's <c>payload_digest</c>, that every exported field equals what the leaf and
/// payload say, the order of the lines, and the end line's count and seq digest. Reads one line at
/// a time, so memory does not grow with the bundle.
/// </summary>
internal sealed class BundleVerifier(NoteVerifierKey key)
{
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public async Task<BundleReport> VerifyFileAsync(string path, TextWriter? progress, CancellationToken cancellationToken)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
        await using (file.ConfigureAwait(false))
        {
            var magic = new byte[2];
            var read = await file.ReadAtLeastAsync(magic, 2, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            file.Position = 0;
            Stream input = read == 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : file;
            await using (input.ConfigureAwait(false))
            {
                return await VerifyAsync(input, progress, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async Task<BundleReport> VerifyAsync(Stream input, TextWriter? progress, CancellationToken cancellationToken)
    {
        var report = new BundleReport();
        using var reader = new StreamReader(input, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false, 1 << 16);
        var state = new State(report);
        long lineNumber = 0;
        var ended = false;
        while (await ReadLineAsync(reader, report, lineNumber, cancellationToken).ConfigureAwait(false) is { } line)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            string? type = null;
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException ex)
            {
                report.Add(new(lineNumber, null, null, "bundle_malformed", $"not JSON: {ex.Message}"));
                continue;
            }

            using (document)
            {
                var root = document.RootElement;
                type = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                if (ended)
                {
                    report.Add(new(lineNumber, null, null, "bundle_malformed", "a line follows the end line"));
                }

                if (lineNumber == 1 && type != "checkpoint")
                {
                    report.Add(new(1, null, null, "checkpoint_inconsistent", "the bundle does not start with a checkpoint line (was it exported with include_proofs?)"));
                }

                switch (type)
                {
                    case "checkpoint" when lineNumber == 1:
                        CheckCheckpoint(root, state);
                        break;
                    case "event":
                        CheckEvent(root, lineNumber, state);
                        break;
                    case "end":
                        CheckEnd(root, lineNumber, state);
                        ended = true;
                        break;
                    default:
                        report.Add(new(lineNumber, null, null, "bundle_malformed", $"unexpected line type '{type ?? "(none)"}'"));
                        break;
                }
            }

            if (progress is not null && report.EventsChecked % 10_000 == 0 && report.EventsChecked > 0 && type == "event")
            {
                await progress.WriteAsync($"\rverified {report.EventsChecked:N0} events").ConfigureAwait(false);
            }
        }

        if (progress is not null && report.EventsChecked >= 10_000)
        {
            await progress.WriteLineAsync().ConfigureAwait(false);
        }

        if (lineNumber == 0)
        {
            report.Add(new(0, null, null, "bundle_malformed", "the bundle is empty"));
        }
        else if (!ended)
        {
            report.Add(new(lineNumber, null, null, "missing_event", "the bundle has no end line: it was truncated, events may be missing"));
        }

        return report;
    }

    /// <summary>Reads a line; a corrupt file (bad gzip data, invalid UTF-8) is a finding that ends the reading.</summary>
    private static async Task<string?> ReadLineAsync(StreamReader reader, BundleReport report, long lineNumber, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or DecoderFallbackException)
        {
            report.Add(new(lineNumber + 1, null, null, "bundle_malformed", $"the file is corrupt after line {lineNumber}: {ex.Message}"));
            return null;
        }
    }

    private void CheckCheckpoint(JsonElement root, State state)
    {
        var report = state.Report;
        var ledger = String(root, "ledger");
        var note = String(root, "signed_note");
        report.Ledger = ledger;
        if (ledger is null || note is null)
        {
            report.Add(new(1, null, null, "checkpoint_inconsistent", "the checkpoint line lacks 'ledger' or 'signed_note'"));
            return;
        }

        try
        {
            var checkpoint = new CheckpointVerifier(key).Open(Encoding.UTF8.GetBytes(note), $"{key.Name}/{ledger}");
            state.Root = checkpoint.RootHash;
            state.TreeSize = checkpoint.Size;
            report.TreeSize = checkpoint.Size;
        }
        catch (Exception ex) when (ex is Stele.Core.Errors.SteleFormatException or NoteVerificationException or CheckpointOriginMismatchException)
        {
            report.Add(new(1, null, null, "checkpoint_inconsistent", $"the checkpoint does not verify with key {key.Name}: {ex.Message}"));
            return;
        }

        // An unfiltered export must hold the whole tree: every seq below the checkpoint's size.
        state.Report.Unfiltered = root.TryGetProperty("request", out var request) && request.ValueKind == JsonValueKind.Object
            && request.EnumerateObject().All(p => p.Name is "format" or "gzip" or "include_proofs");

        // The unsigned copies beside the note must agree with it.
        if (root.TryGetProperty("tree_size", out var size) && Int64(root, "tree_size") != state.TreeSize)
        {
            report.Add(new(1, null, null, "checkpoint_inconsistent", $"tree_size {size.GetRawText()} differs from the signed size {state.TreeSize}"));
        }

        if (String(root, "root_hash") is { } rootHex && !string.Equals(rootHex, Convert.ToHexStringLower(state.Root!), StringComparison.Ordinal))
        {
            report.Add(new(1, null, null, "checkpoint_inconsistent", $"root_hash {rootHex} differs from the signed root {Convert.ToHexStringLower(state.Root!)}"));
        }
    }

    private static void CheckEvent(JsonElement root, long line, State state)
    {
        var report = state.Report;
        report.EventsChecked++;
        long? seq = null;
        string? id = null;
        if (root.TryGetProperty("event", out var exported) && exported.ValueKind == JsonValueKind.Object)
        {
            id = String(exported, "id");
            seq = Int64(exported, "seq");
        }
        else
        {
            report.Add(new(line, null, null, "bundle_malformed", "the event line has no 'event' object"));
            return;
        }

        void Fail(string type, string detail) => report.Add(new(line, seq, id, type, detail));

        byte[] leaf;
        byte[]? payload;
        try
        {
            leaf = Convert.FromBase64String(String(root, "leaf") ?? throw new FormatException("'leaf' is missing"));
            payload = root.TryGetProperty("payload", out var p) && p.ValueKind == JsonValueKind.String ? Convert.FromBase64String(p.GetString()!) : null;
        }
        catch (FormatException ex)
        {
            Fail("bundle_malformed", $"leaf or payload is not base64: {ex.Message}");
            return;
        }

        var leafHash = MerkleHash.Leaf(leaf);
        DecodedLeaf decoded;
        try
        {
            decoded = EventLeafV1.Parse(leaf);
        }
        catch (EventFormatException ex)
        {
            Fail("leaf_mismatch", $"the leaf bytes do not parse: {ex.Message}");
            return;
        }

        // Name the event by what its leaf says where the exported fields were changed.
        id ??= decoded.Id;
        seq ??= decoded.Seq;
        if (!string.Equals(decoded.Ledger, report.Ledger, StringComparison.Ordinal))
        {
            Fail("leaf_mismatch", $"the leaf belongs to ledger '{decoded.Ledger}', the bundle to '{report.Ledger}'");
        }

        CheckProof(root, decoded, leafHash, state, Fail);

        DecodedPayload? decodedPayload = null;
        if (payload is null)
        {
            report.PayloadsErased++;
        }
        else if (!SHA256.HashData(payload).AsSpan().SequenceEqual(decoded.PayloadDigest))
        {
            Fail("payload_mismatch", $"the payload hashes to {Convert.ToHexStringLower(SHA256.HashData(payload))}, the leaf's payload_digest is {Convert.ToHexStringLower(decoded.PayloadDigest)}");
        }
        else
        {
            try
            {
                decodedPayload = EventPayloadV1.Parse(payload);
            }
            catch (EventFormatException ex)
            {
                Fail("payload_mismatch", $"the payload does not parse: {ex.Message}");
            }
        }

        CheckFields(exported, leaf, leafHash, payload is not null && decodedPayload is not null ? payload : null, payload is not null, decoded, Fail);
        CheckOrder(root, decoded.Seq, state, Fail);
    }

    private static void CheckProof(JsonElement root, DecodedLeaf decoded, byte[] leafHash, State state, Action<string, string> fail)
    {
        if (state.Root is null)
        {
            return; // Reported once on the checkpoint line.
        }

        if (!root.TryGetProperty("inclusion_proof", out var proof) || proof.ValueKind != JsonValueKind.Object
            || Int64(proof, "leaf_index") is not { } index
            || Int64(proof, "tree_size") is not { } size
            || !proof.TryGetProperty("hashes", out var hashesElement) || hashesElement.ValueKind != JsonValueKind.Array)
        {
            fail("root_mismatch", "the inclusion proof is missing or malformed");
            return;
        }

        if (index != decoded.Seq)
        {
            fail("leaf_mismatch", $"the proof is for leaf index {index}, the leaf says seq {decoded.Seq}");
            return;
        }

        if (size != state.TreeSize)
        {
            fail("root_mismatch", $"the proof is for tree size {size}, the checkpoint's is {state.TreeSize}");
            return;
        }

        var hashes = new List<byte[]>(hashesElement.GetArrayLength());
        foreach (var h in hashesElement.EnumerateArray())
        {
            try
            {
                hashes.Add(Convert.FromHexString(h.ValueKind == JsonValueKind.String ? h.GetString()! : string.Empty));
            }
            catch (FormatException)
            {
                fail("root_mismatch", "a proof hash is not hex");
                return;
            }
        }

        var check = MerkleProofs.VerifyInclusion(index, size, leafHash, hashes, state.Root);
        if (!check.IsValid)
        {
            fail("root_mismatch", check.Message);
        }
    }

    /// <summary>
    /// Rebuilds the event's API JSON from the leaf and payload and compares it field by field with
    /// the exported one. <c>chain_hash</c> and <c>idempotency_key</c> are not inside the leaf, so
    /// they are taken from the export (the chain is checked by <c>stele verify --url</c>).
    /// </summary>
    private static void CheckFields(JsonElement exported, byte[] leaf, byte[] leafHash, byte[]? payload, bool hasPayload, DecodedLeaf decoded, Action<string, string> fail)
    {
        var chainHex = String(exported, "chain_hash");
        byte[] chain;
        try
        {
            chain = Convert.FromHexString(chainHex ?? string.Empty);
        }
        catch (FormatException)
        {
            chain = [];
        }

        var stored = new StoredEvent
        {
            Seq = decoded.Seq,
            Id = decoded.Id,
            ReceivedAtMicros = 0,
            IdempotencyKey = String(exported, "idempotency_key"),
            Leaf = leaf,
            LeafHash = leafHash,
            ChainHash = chain,
            Payload = payload,
        };

        JsonNode? expected;
        try
        {
            var buffer = new ArrayBufferWriter<byte>(4096);
            using (var w = new Utf8JsonWriter(buffer, JsonOptions))
            {
                EventJson.Write(w, decoded.Ledger, stored);
            }

            expected = JsonNode.Parse(buffer.WrittenSpan);
        }
        catch (EventFormatException ex)
        {
            fail("payload_mismatch", $"the payload does not line up with the leaf: {ex.Message}");
            return;
        }

        var actual = JsonNode.Parse(exported.GetRawText())!.AsObject();
        var expectedObject = expected!.AsObject();
        if (hasPayload && payload is null)
        {
            // The payload failed its digest: the erasable fields cannot be checked, and are reported above.
            foreach (var name in new[] { "actor_name", "resource_name", "ip_address", "ip_city", "user_agent", "metadata", "targets", "payload_erased" })
            {
                expectedObject.Remove(name);
                actual.Remove(name);
            }
        }

        var differing = new List<string>();
        foreach (var (name, value) in expectedObject)
        {
            if (!actual.TryGetPropertyValue(name, out var other) || !JsonNode.DeepEquals(value, other))
            {
                differing.Add(name);
            }
        }

        foreach (var (name, _) in actual)
        {
            if (!expectedObject.ContainsKey(name))
            {
                differing.Add(name);
            }
        }

        if (differing.Count > 0)
        {
            fail("field_mismatch", $"exported field(s) {string.Join(", ", differing)} differ from what the leaf and payload say");
        }
    }

    private static void CheckOrder(JsonElement root, long seq, State state, Action<string, string> fail)
    {
        var prevSeq = Int64(root, "prev_seq");
        if (prevSeq != state.LastSeq)
        {
            fail(
                "missing_event",
                state.LastSeq is null
                    ? $"the line says seq {prevSeq} comes before it, but it is the first event line"
                    : prevSeq is null
                        ? $"the line says it is the first event, but seq {state.LastSeq} comes before it"
                        : $"the line says seq {prevSeq} comes before it, but the line before holds seq {state.LastSeq}: seq {prevSeq} was removed or moved");
        }

        if (state.LastSeq is { } last && seq >= last)
        {
            fail("order_mismatch", $"seq {seq} follows seq {last}; a bundle lists events newest first, each seq once");
        }

        state.LastSeq = seq;
        state.Count++;
        BinaryPrimitives.WriteInt64BigEndian(state.SeqBytes, seq);
        state.SeqDigest.AppendData(state.SeqBytes);
    }

    private static void CheckEnd(JsonElement root, long line, State state)
    {
        var report = state.Report;
        var count = Int64(root, "event_count");
        if (count != state.Count)
        {
            report.Add(new(line, null, null, "missing_event", $"the end line counts {count?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"} events, the bundle holds {state.Count}"));
        }

        var lastSeq = Int64(root, "last_seq");
        if (lastSeq != state.LastSeq)
        {
            report.Add(new(line, lastSeq, null, "missing_event", $"the end line says the last event is seq {lastSeq}, the bundle's last is seq {state.LastSeq}"));
        }

        if (report.Unfiltered && state.Root is not null && (state.Count != state.TreeSize || (state.Count > 0 && state.LastSeq != 0)))
        {
            report.Add(new(line, null, null, "missing_event", $"the export has no filters, so it must hold all {state.TreeSize} events of the checkpoint; it holds {state.Count}"));
        }

        var digest = Convert.ToHexStringLower(state.SeqDigest.GetHashAndReset());
        if (!string.Equals(String(root, "seqs_sha256"), digest, StringComparison.Ordinal))
        {
            report.Add(new(line, null, null, "missing_event", $"the seq list digests to {digest}, the end line says {String(root, "seqs_sha256")}"));
        }
    }

    private static long? Int64(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private sealed class State(BundleReport report)
    {
        public BundleReport Report { get; } = report;

        public byte[]? Root { get; set; }

        public long TreeSize { get; set; }

        public long? LastSeq { get; set; }

        public long Count { get; set; }

        public byte[] SeqBytes { get; } = new byte[8];

        public IncrementalHash SeqDigest { get; } = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }
}

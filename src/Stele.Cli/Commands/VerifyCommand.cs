using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Stele.Core.Checkpoints;
using Stele.Core.Events;
using Stele.Core.Notes;
using Stele.Core.Tiles;
using Stele.Core.Verification;

namespace Stele.Cli.Commands;

/// <summary>
/// <c>stele verify --url --ledger --key</c>: downloads the signed checkpoint, the level-0 tiles, the
/// entry bundles (leaf bytes) and Stele's payload bundles over <c>/tlog/</c>, and checks locally the
/// checkpoint signature, every leaf against its tile hash, every payload against its digest, the
/// hash chain against the checkpoint's <c>chain</c> line and the Merkle root against the checkpoint.
/// </summary>
internal static class VerifyCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var line = CommandLine.Parse(args, ["--url", "--ledger", "--key", "--vkey"], ["--quiet"]);
        var url = line.Require("--url");
        var ledger = line.Require("--ledger");
        var apiKey = line.Get("--key") ?? Environment.GetEnvironmentVariable("STELE_API_KEY")
            ?? throw new UsageException("--key (or STELE_API_KEY) is required.");
        if (!Uri.TryCreate(url.TrimEnd('/') + "/", UriKind.Absolute, out var baseUri))
        {
            throw new UsageException($"--url must be an absolute URL, got '{url}'.");
        }

        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);

        NoteVerifierKey verifierKey;
        if (line.Get("--vkey") is { } vkey)
        {
            verifierKey = NoteVerifierKey.Parse(File.Exists(vkey) ? (await File.ReadAllTextAsync(vkey).ConfigureAwait(false)).Trim() : vkey);
        }
        else
        {
            var text = (await http.GetStringAsync(new Uri("api/v1/public-key", UriKind.Relative)).ConfigureAwait(false)).Trim();
            verifierKey = NoteVerifierKey.Parse(text);
            await Console.Error.WriteLineAsync($"note: trusting the server's own public key {verifierKey.Name}; pass --vkey to pin the key you expect.").ConfigureAwait(false);
        }

        var progress = line.Has("--quiet") ? null : Console.Error;
        try
        {
            var report = await VerifyAsync(http, ledger, verifierKey, progress, CancellationToken.None).ConfigureAwait(false);
            Print(report);
            return report.IsValid ? 0 : 1;
        }
        catch (HttpRequestException ex)
        {
            await Console.Error.WriteLineAsync($"stele: could not download the log: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    public static async Task<VerificationReport> VerifyAsync(HttpClient http, string ledger, NoteVerifierKey verifierKey, TextWriter? progress, CancellationToken cancellationToken)
    {
        var prefix = $"tlog/{Uri.EscapeDataString(ledger)}/";
        var noteBytes = await GetBytesAsync(http, prefix + "checkpoint", cancellationToken).ConfigureAwait(false);
        var verifier = new LedgerVerifier(ledger);
        long total;
        try
        {
            // Any origin under the instance is accepted for the name, but the ledger part must match:
            // all ledgers share one key, so a checkpoint of another ledger must not pass for this one.
            var checkpoint = new CheckpointVerifier(verifierKey).Open(noteBytes, $"{verifierKey.Name}/{ledger}");
            verifier.AddCheckpoint(new CheckpointClaim(checkpoint.Size, checkpoint.RootHash, checkpoint.ChainHash, true, "latest checkpoint"));
            total = checkpoint.Size;
        }
#pragma warning disable CA1031 // A checkpoint that fails to open is a finding, reported as checkpoint_inconsistent.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            progress?.WriteLine($"the checkpoint does not verify: {ex.Message}");
            total = ParseUnverifiedSize(noteBytes);
            verifier.AddCheckpoint(new CheckpointClaim(total, new byte[32], null, false, $"latest checkpoint ({ex.Message})"));
        }

        // Progress: a first and a last line on any ledger of more than one tile, and a line a second in between.
        var c = CultureInfo.InvariantCulture;
        var tiles = (total + 255) / 256;
        if (progress is not null && tiles > 1)
        {
            await progress.WriteLineAsync(string.Create(c, $"verifying {total:N0} events ({tiles:N0} tiles)")).ConfigureAwait(false);
        }

        var stopwatch = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        for (long tile = 0; tile * 256 < total; tile++)
        {
            var width = (int)Math.Min(256, total - (tile * 256));
            var coordinate = new TileCoordinate(0, tile, width);
            var hashes = await GetBytesAsync(http, prefix + TilePath.Format(coordinate), cancellationToken).ConfigureAwait(false);
            var entries = EntryBundle.Decode(await GetBytesAsync(http, prefix + TilePath.FormatEntries(tile, width), cancellationToken).ConfigureAwait(false));
            var payloadPath = TilePath.FormatEntries(tile, width).Replace("tile/entries/", "stele/payloads/", StringComparison.Ordinal);
            var payloads = EntryBundle.Decode(await GetBytesAsync(http, prefix + payloadPath, cancellationToken).ConfigureAwait(false));
            // A complete tile lines entries up by position. A short one (rows missing from the
            // server's database) is lined up by each leaf's own seq, so the gap is reported as
            // missing events rather than as every later event being out of place.
            var aligned = entries.Count == width && payloads.Count == width;
            var hashesUsable = hashes.Length == width * 32 && aligned;
            for (var i = 0; i < entries.Count; i++)
            {
                var seq = aligned ? (tile * 256) + i : SeqOf(entries[i]) ?? ((tile * 256) + i);
                byte[]? leafHash = hashesUsable ? hashes.AsSpan(i * 32, 32).ToArray() : null;
                // An empty entry is an erased payload. (Careful: a null byte[] converts to an empty, non-null memory.)
                ReadOnlyMemory<byte>? payload = aligned && payloads[i].Length > 0 ? new ReadOnlyMemory<byte>(payloads[i]) : (ReadOnlyMemory<byte>?)null;
                verifier.Add(new LedgerEntry(seq, entries[i], payload, leafHash, null));
            }

            if (progress is not null && stopwatch.Elapsed - lastReport > TimeSpan.FromSeconds(1))
            {
                lastReport = stopwatch.Elapsed;
                var done = Math.Min(total, (tile + 1) * 256);
                await progress.WriteLineAsync(string.Create(c, $"verified {done:N0} of {total:N0} events ({100.0 * done / Math.Max(1, total):0.0}%)")).ConfigureAwait(false);
            }
        }

        if (progress is not null && tiles > 1)
        {
            await progress.WriteLineAsync(string.Create(c, $"verified {total:N0} of {total:N0} events (100.0%)")).ConfigureAwait(false);
        }

        return verifier.Finish(total);
    }

    private static long? SeqOf(byte[] leaf)
    {
        try
        {
            return EventLeafV1.Parse(leaf).Seq;
        }
        catch (EventFormatException)
        {
            return null;
        }
    }

    private static long ParseUnverifiedSize(byte[] note)
    {
        var lines = Encoding.UTF8.GetString(note).Split('\n');
        return lines.Length > 1 && long.TryParse(lines[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size) ? size : 0;
    }

    private static async Task<byte[]> GetBytesAsync(HttpClient http, string path, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"GET {path} answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
        }

        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void Print(VerificationReport report)
    {
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(c, $"ledger {report.Ledger}: {report.EventsChecked:N0} events checked, {report.PayloadsErased:N0} payloads erased, {report.CheckpointsChecked} checkpoint(s)"));
        Console.WriteLine($"root {report.RootHash}");
        Console.WriteLine($"chain head {report.ChainHead}");
        foreach (var b in report.Breaks)
        {
            Console.WriteLine($"BREAK seq {b.Seq} {b.Type.ToWireName()}{(b.EventId is null ? string.Empty : " " + b.EventId)}: {b.Detail}" +
                (b.ExpectedHash is null ? string.Empty : $" (expected {b.ExpectedHash}, actual {b.ActualHash})"));
        }

        if (report.BreakCount > report.Breaks.Count)
        {
            Console.WriteLine(string.Create(c, $"… and {report.BreakCount - report.Breaks.Count:N0} more breaks"));
        }

        Console.WriteLine(report.IsValid ? "OK: the ledger verifies." : string.Create(c, $"FAILED: {report.BreakCount:N0} break(s)."));
    }
}

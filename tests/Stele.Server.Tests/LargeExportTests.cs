using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Stele.Cli.Bundles;
using Stele.Cli.Commands;
using Stele.Core.Notes;
using Xunit.Abstractions;

namespace Stele.Server.Tests;

/// <summary>
/// A 100,000-event proof export, made and downloaded with <c>stele export</c> (whose progress shows
/// rows_done moving while the job runs) and checked with the offline verifier in bounded memory.
/// <c>STELE_LARGE_EXPORT_EVENTS</c> changes the size. It runs alone (see <see cref="MemoryMeasurementCollection"/>):
/// the live heap it measures is the whole process's.
/// </summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed partial class LargeExportTests(ITestOutputHelper output)
{
    /// <summary>
    /// Live-heap growth allowed between 10% and 100% of the events. Keeping even 100 bytes per
    /// event would grow it by 9 MB at the default size; what the verifier legitimately keeps
    /// (the compact range of the tree, O(log n) hashes, and fixed buffers) does not grow.
    /// </summary>
    private const long MaxGrowth = 4_000_000;

    [Fact]
    [Trait("Category", "Slow")]
    public async Task A_large_export_shows_progress_while_it_runs_and_verifies_offline_in_bounded_memory()
    {
        var total = int.Parse(Environment.GetEnvironmentVariable("STELE_LARGE_EXPORT_EVENTS") ?? "100000", CultureInfo.InvariantCulture);
        var bundle = Path.Combine(Path.GetTempPath(), "stele-tests", $"large-{Guid.NewGuid():N}.jsonl.gz");
        NoteVerifierKey key;
        var clock = Stopwatch.StartNew();
        await using (var server = await TestServer.StartAsync())
        {
            var batches = Enumerable.Range(0, total / 1000).Select(b => Enumerable.Range(0, 1000).Select(i => new
            {
                actor_id = $"user_{(b * 1000) + i}",
                actor_name = "A Name",
                action = "document.viewed",
                resource = "document",
                resource_id = $"doc_{i}",
                metadata = new { n = i },
            }).ToArray());
            await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (events, ct) =>
            {
                using var response = await server.Admin.PostAsJsonAsync("api/v1/events/batch", new { events }, ct);
                response.EnsureSuccessStatusCode();
            });
            output.WriteLine($"ingested {total} events in {clock.Elapsed.TotalSeconds:0.0} s");

            clock.Restart();
            var body = new Dictionary<string, object>(StringComparer.Ordinal) { ["format"] = "jsonl", ["gzip"] = true, ["include_proofs"] = true };
            Directory.CreateDirectory(Path.GetDirectoryName(bundle)!);
            var progress = new StringWriter(CultureInfo.InvariantCulture);
            Assert.Equal(0, await ExportCommand.RunAsync(server.Admin, "default", body, bundle, progress, CancellationToken.None));
            output.WriteLine($"exported and downloaded in {clock.Elapsed.TotalSeconds:0.0} s: {new FileInfo(bundle).Length:N0} bytes gzip'd");

            // What `stele export` showed while polling: rows_done of rows_total, moving while the job ran.
            var running = ProgressLine().Matches(progress.ToString())
                .Where(m => m.Groups["state"].Value == "running")
                .Select(m => (Done: long.Parse(m.Groups["done"].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture), Total: m.Groups["total"].Value))
                .ToList();
            output.WriteLine($"progress while running: {string.Join(", ", running.Select(r => r.Done))}");
            Assert.Contains(running, r => r.Done > 0 && r.Done < total);
            Assert.All(running.Where(r => r.Done > 0), r => Assert.Equal(total.ToString("N0", CultureInfo.InvariantCulture), r.Total));
            Assert.Equal(running.Select(r => r.Done).Order(), running.Select(r => r.Done));
            Assert.Contains($"succeeded, {total.ToString("N0", CultureInfo.InvariantCulture)} of {total.ToString("N0", CultureInfo.InvariantCulture)} rows", progress.ToString(), StringComparison.Ordinal);
            key = NoteVerifierKey.Parse((await server.Client().GetStringAsync("api/v1/public-key")).Trim());
        }

        try
        {
            clock.Restart();
            var baseline = GC.GetTotalMemory(forceFullCollection: true);
            var memory = new LiveMemoryProbe();
            var report = await new BundleVerifier(key).VerifyFileAsync(bundle, memory, CancellationToken.None);
            var peak = memory.Samples.Max(s => s.LiveBytes);
            var atTenth = memory.Samples.First(s => s.Events >= total / 10).LiveBytes;
            var growth = memory.Samples.Where(s => s.Events >= total / 10).Max(s => s.LiveBytes) - atTenth;
            output.WriteLine($"verified in {clock.Elapsed.TotalSeconds:0.0} s; live heap at most {(peak - baseline) / 1e6:0.0} MB above the start, " +
                $"grew {growth / 1e6:0.00} MB from 10% to 100% of the events ({memory.Samples.Count} samples: {string.Join(", ", memory.Samples.Select(s => $"{s.Events / 1000}k:{s.LiveBytes / 1e6:0.0}"))} MB)");

            Assert.True(report.IsValid, string.Join('\n', report.Failures.Take(10)));
            Assert.Equal(total, report.EventsChecked);
            Assert.True(memory.Samples.Count >= total / 10_000, "the verifier reports progress");
            Assert.True(peak - baseline < 32_000_000, $"live heap grew by {peak - baseline:N0} bytes");
            Assert.True(growth < MaxGrowth, $"live heap grew by {growth:N0} bytes between 10% and 100% of {total:N0} events ({(double)growth / (total * 0.9):0.0} bytes per event)");
        }
        finally
        {
            File.Delete(bundle);
        }
    }

    [GeneratedRegex(@"export \S+: (?<state>[a-z]+), (?<done>[\d,]+) of (?<total>[\d,?]+) rows")]
    private static partial Regex ProgressLine();

    /// <summary>A progress writer that measures the live heap (after a full collection) each time the verifier reports how many events it checked.</summary>
    private sealed partial class LiveMemoryProbe : TextWriter
    {
        public List<(long Events, long LiveBytes)> Samples { get; } = [];

        public override Encoding Encoding => Encoding.UTF8;

        public override Task WriteAsync(string? value)
        {
            if (value is not null && VerifiedLine().Match(value) is { Success: true } m)
            {
                Samples.Add((long.Parse(m.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.CurrentCulture), GC.GetTotalMemory(forceFullCollection: true)));
            }

            return Task.CompletedTask;
        }

        [GeneratedRegex(@"verified ([\d,.\u00a0\u202f ]+) events")]
        private static partial Regex VerifiedLine();
    }
}

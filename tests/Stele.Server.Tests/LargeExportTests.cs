using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using Stele.Cli.Bundles;
using Stele.Cli.Commands;
using Stele.Core.Notes;
using Xunit.Abstractions;

namespace Stele.Server.Tests;

/// <summary>
/// A 100,000-event proof export, made and downloaded with <c>stele export</c> and checked with the
/// offline verifier in bounded memory. <c>STELE_LARGE_EXPORT_EVENTS</c> changes the size.
/// </summary>
public sealed class LargeExportTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Slow")]
    public async Task A_large_export_verifies_offline_in_bounded_memory()
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
            Assert.Equal(0, await ExportCommand.RunAsync(server.Admin, "default", body, bundle, null, CancellationToken.None));
            output.WriteLine($"exported and downloaded in {clock.Elapsed.TotalSeconds:0.0} s: {new FileInfo(bundle).Length:N0} bytes gzip'd");
            key = NoteVerifierKey.Parse((await server.Client().GetStringAsync("api/v1/public-key")).Trim());
        }

        try
        {
            clock.Restart();
            var baseline = GC.GetTotalMemory(forceFullCollection: true);
            var memory = new LiveMemoryProbe();
            var report = await new BundleVerifier(key).VerifyFileAsync(bundle, memory, CancellationToken.None);
            output.WriteLine($"verified in {clock.Elapsed.TotalSeconds:0.0} s; live heap at most {(memory.Peak - baseline) / 1e6:0.0} MB above the start ({memory.Samples} samples)");

            Assert.True(report.IsValid, string.Join('\n', report.Failures.Take(10)));
            Assert.Equal(total, report.EventsChecked);
            Assert.True(memory.Samples >= total / 10_000, "the verifier reports progress");
            Assert.True(memory.Peak - baseline < 32_000_000, $"live heap grew by {memory.Peak - baseline:N0} bytes");
        }
        finally
        {
            File.Delete(bundle);
        }
    }

    /// <summary>A progress writer that measures the live heap (after a full collection) whenever progress is written.</summary>
    private sealed class LiveMemoryProbe : TextWriter
    {
        public long Peak { get; private set; }

        public int Samples { get; private set; }

        public override Encoding Encoding => Encoding.UTF8;

        public override Task WriteAsync(string? value)
        {
            Samples++;
            Peak = Math.Max(Peak, GC.GetTotalMemory(forceFullCollection: true));
            return Task.CompletedTask;
        }
    }
}

using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace Stele.EndToEnd.Tests;

/// <summary>
/// The server child process, ingesting from many concurrent clients, is killed with SIGKILL at
/// random moments, 20 times. After every restart: every event acknowledged so far is present at
/// the seq it was acknowledged with, seq is gap-free, and GET /verify passes over the whole ledger.
/// </summary>
public sealed class CrashSafetyTests(ITestOutputHelper output)
{
    private const int Kills = 20;
    private const int Clients = 24;

    [Fact]
    public async Task Killing_the_server_mid_ingest_loses_no_acknowledged_event()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "stele-e2e", Guid.NewGuid().ToString("N"));
        var acknowledged = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var ledger = new CheckedLedger();
        string? adminKey = null;
        var random = new Random(20261122);
        try
        {
            for (var round = 0; round <= Kills; round++)
            {
                using var server = await ServerProcess.StartAsync(dataDirectory);
                adminKey ??= server.AdminKey ?? throw new InvalidOperationException("No bootstrap key on first start:\n" + server.Output);
                Assert.True(round == 0 || server.AdminKey is null, "The admin key must be printed only once.");
                using var http = new HttpClient { BaseAddress = server.Address };
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);

                if (round > 0)
                {
                    // After the restart, before anything new is written.
                    var (added, checkpoints) = await ledger.CheckAsync(http, acknowledged, round == Kills);
                    output.WriteLine($"restart {round}: {acknowledged.Count} acknowledged, {ledger.Size} stored (+{added}), gap-free, verifies ({checkpoints} checkpoint(s) compared)");
                }

                if (round == Kills)
                {
                    await CheckIndexesAsync(http, ledger.Stored);
                    break;
                }

                using var stop = new CancellationTokenSource();
                var clients = Enumerable.Range(0, Clients).Select(c => IngestUntilStoppedAsync(server.Address, adminKey, round, c, acknowledged, stop.Token)).ToList();
                await Task.Delay(random.Next(300, 1500));
                server.Kill();
                await stop.CancelAsync();
                await Task.WhenAll(clients);
            }

            Assert.True(acknowledged.Count > Kills * 10, $"Too few events were acknowledged ({acknowledged.Count}) for the test to mean anything.");
        }
        finally
        {
            try
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// The query indexes, written behind ingestion and killed with it, resume from their durable
    /// cursor: once they reach the head, a filtered query finds every stored event.
    /// </summary>
    private static async Task CheckIndexesAsync(HttpClient http, IReadOnlyDictionary<string, long> stored)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var info = JsonDocument.Parse(await http.GetStringAsync("api/v1/ledgers/default")).RootElement;
            var reach = info.GetProperty("indexed_through_seq");
            if (reach.ValueKind == JsonValueKind.Number && reach.GetInt64() == stored.Count - 1)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The indexes did not reach the head within 60 s: {info}");
            await Task.Delay(100);
        }

        var indexed = new Dictionary<string, long>(StringComparer.Ordinal);
        string? cursor = null;
        do
        {
            var page = JsonDocument.Parse(await http.GetStringAsync("api/v1/events?action=crash.*&limit=1000" + (cursor is null ? string.Empty : "&cursor=" + cursor))).RootElement;
            foreach (var e in page.GetProperty("data").EnumerateArray())
            {
                indexed.Add(e.GetProperty("id").GetString()!, e.GetProperty("seq").GetInt64());
            }

            cursor = page.GetProperty("pagination").GetProperty("next_cursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(stored.OrderBy(e => e.Value), indexed.OrderBy(e => e.Value));
    }

    /// <summary>
    /// What the previous checks established (the ledger's size and every seq below it), so each
    /// check reads only the events stored since; GET /verify covers the whole ledger each time.
    /// </summary>
    private sealed class CheckedLedger
    {
        private readonly Dictionary<string, long> _stored = new(StringComparer.Ordinal);

        public long Size { get; private set; }

        /// <summary>Every event checked so far: id → seq.</summary>
        public IReadOnlyDictionary<string, long> Stored => _stored;

        public async Task<(long Added, int Checkpoints)> CheckAsync(HttpClient http, ConcurrentDictionary<string, long> acknowledged, bool waitForCheckpoint)
        {
            // The events stored since the last check, newest first, until the seqs reach the old size.
            var added = new Dictionary<string, long>(StringComparer.Ordinal);
            string? cursor = null;
            var older = false;
            do
            {
                var page = JsonDocument.Parse(await http.GetStringAsync("api/v1/events?limit=1000" + (cursor is null ? string.Empty : "&cursor=" + cursor))).RootElement;
                foreach (var e in page.GetProperty("data").EnumerateArray())
                {
                    var seq = e.GetProperty("seq").GetInt64();
                    if (seq < Size)
                    {
                        older = true;
                        break;
                    }

                    Assert.True(added.TryAdd(e.GetProperty("id").GetString()!, seq), $"event listed twice at seq {seq}");
                }

                cursor = page.GetProperty("pagination").GetProperty("next_cursor").GetString();
            }
            while (!older && cursor is not null);

            // Gap-free: the new events hold exactly the seqs Size .. Size + added - 1.
            Assert.Equal(Enumerable.Range(0, added.Count).Select(i => Size + i), added.Values.Order());
            foreach (var (id, seq) in added)
            {
                _stored.Add(id, seq);
            }

            Size += added.Count;

            var lost = acknowledged.Where(a => !_stored.TryGetValue(a.Key, out var seq) || seq != a.Value).Select(a => a.Key).ToList();
            Assert.True(lost.Count == 0, $"{lost.Count} acknowledged events are missing or moved, e.g. {string.Join(", ", lost.Take(5))}");

            // The whole ledger verifies: leaves, payloads, chain, and the roots of the signed checkpoints.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            JsonElement report;
            while (true)
            {
                report = JsonDocument.Parse(await http.GetStringAsync("api/v1/verify")).RootElement;
                var covered = report.GetProperty("checkpoints_checked").GetInt32() > 0;
                if (!waitForCheckpoint || covered || DateTime.UtcNow > deadline)
                {
                    break;
                }

                await Task.Delay(300);
            }

            Assert.True(report.GetProperty("valid").GetBoolean(), report.ToString());
            Assert.Equal(Size, report.GetProperty("events_checked").GetInt64());
            if (waitForCheckpoint)
            {
                Assert.True(report.GetProperty("checkpoints_checked").GetInt32() > 0, "no checkpoint was compared: " + report);
            }

            return (added.Count, report.GetProperty("checkpoints_checked").GetInt32());
        }
    }

    private static async Task IngestUntilStoppedAsync(Uri address, string key, int round, int client, ConcurrentDictionary<string, long> acknowledged, CancellationToken stop)
    {
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            try
            {
                using var response = await http.PostAsJsonAsync("api/v1/events", new { actor_id = $"r{round}c{client}", action = "crash.test", metadata = new { i } }, stop);
                if (response.IsSuccessStatusCode)
                {
                    var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(stop)).RootElement;
                    acknowledged[body.GetProperty("id").GetString()!] = body.GetProperty("seq").GetInt64();
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
            {
                // The server was killed: this request was never acknowledged.
                return;
            }
        }
    }
}

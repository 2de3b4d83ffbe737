using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace Stele.EndToEnd.Tests;

public sealed class CrashSafetyTests(ITestOutputHelper output)
{
    private const int Kills = 20;
    private const int Clients = 24;

    [Fact]
    public async Task Killing_the_server_mid_ingest_loses_no_acknowledged_event()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "stele-e2e", Guid.NewGuid().ToString("N"));
        var acknowledged = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        string? adminKey = null;
        var random = new Random(20261122);
        try
        {
            for (var round = 0; round < Kills; round++)
            {
                using var server = await ServerProcess.StartAsync(dataDirectory);
                adminKey ??= server.AdminKey ?? throw new InvalidOperationException("No bootstrap key on first start:\n" + server.Output);
                Assert.True(round == 0 || server.AdminKey is null, "The admin key must be printed only once.");

                using var stop = new CancellationTokenSource();
                var clients = Enumerable.Range(0, Clients).Select(c => IngestUntilStoppedAsync(server.Address, adminKey, round, c, acknowledged, stop.Token)).ToList();
                await Task.Delay(random.Next(300, 1500));
                server.Kill();
                await stop.CancelAsync();
                await Task.WhenAll(clients);
                output.WriteLine($"round {round}: {acknowledged.Count} acknowledged so far");
            }

            using var final = await ServerProcess.StartAsync(dataDirectory);
            using var http = new HttpClient { BaseAddress = final.Address };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);

            // Every event in the ledger, by paging through GET /events.
            var stored = new Dictionary<string, long>(StringComparer.Ordinal);
            string? cursor = null;
            do
            {
                var page = JsonDocument.Parse(await http.GetStringAsync("api/v1/events?limit=1000" + (cursor is null ? string.Empty : "&cursor=" + cursor))).RootElement;
                foreach (var e in page.GetProperty("data").EnumerateArray())
                {
                    stored[e.GetProperty("id").GetString()!] = e.GetProperty("seq").GetInt64();
                }

                cursor = page.GetProperty("pagination").GetProperty("next_cursor").GetString();
            }
            while (cursor is not null);

            Assert.True(acknowledged.Count > Kills * 10, $"Too few events were acknowledged ({acknowledged.Count}) for the test to mean anything.");
            var lost = acknowledged.Where(a => !stored.TryGetValue(a.Key, out var seq) || seq != a.Value).Select(a => a.Key).ToList();
            Assert.True(lost.Count == 0, $"{lost.Count} acknowledged events are missing or moved, e.g. {string.Join(", ", lost.Take(5))}");

            // seq is gap-free: 0 .. n-1, each once.
            var seqs = stored.Values.Order().ToList();
            Assert.Equal(Enumerable.Range(0, seqs.Count).Select(i => (long)i), seqs);

            var deadline = DateTime.UtcNow.AddSeconds(10);
            JsonElement report;
            do
            {
                await Task.Delay(300);
                report = JsonDocument.Parse(await http.GetStringAsync("api/v1/verify")).RootElement;
            }
            while (report.GetProperty("checkpoints_checked").GetInt32() == 0 && DateTime.UtcNow < deadline);

            Assert.True(report.GetProperty("valid").GetBoolean(), report.ToString());
            Assert.Equal(seqs.Count, report.GetProperty("events_checked").GetInt64());

            // The query indexes, written behind ingestion and killed 20 times with it, resume from their
            // durable cursor: once they reach the head, a filtered query finds every stored event.
            deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var ledger = JsonDocument.Parse(await http.GetStringAsync("api/v1/ledgers/default")).RootElement;
                var reach = ledger.GetProperty("indexed_through_seq");
                if (reach.ValueKind == JsonValueKind.Number && reach.GetInt64() == seqs.Count - 1)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"The indexes did not reach the head within 60 s: {ledger}");
                await Task.Delay(100);
            }

            var indexed = new Dictionary<string, long>(StringComparer.Ordinal);
            cursor = null;
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
            output.WriteLine($"{acknowledged.Count} acknowledged, {stored.Count} stored, ledger verifies");
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

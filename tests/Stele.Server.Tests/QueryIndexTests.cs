using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Stele.Server.Indexing;

namespace Stele.Server.Tests;

/// <summary>
/// The query indexes run behind ingestion: results say how fresh they are, events become queryable
/// once the indexer passes them, a restart resumes from the durable cursor, and an export waits for
/// the indexes so it never misses an acknowledged event.
/// </summary>
public sealed class QueryIndexTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 8, 0, 0, TimeSpan.Zero);
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private EventIndexer Indexer => _server.Host.Services.GetRequiredService<EventIndexer>();

    [Fact]
    public async Task A_filtered_query_says_how_far_the_indexes_reach_and_finds_an_event_once_the_indexer_passes_it()
    {
        var indexedBefore = await IndexedThroughAsync("default");
        JsonElement first, second;
        using (Indexer.Pause())
        {
            first = await Api.IngestAsync(_server.Admin, "api/v1/events", new { actor_id = "fresh", action = "note.written", idempotency_key = "once" });
            second = await Api.IngestAsync(_server.Admin, "api/v1/events", new { actor_id = "fresh", action = "note.written" });

            // Not indexed yet: the filtered result is empty and says the indexes stop before these seqs.
            using var filtered = await _server.Admin.GetAsync("api/v1/events?actor_id=fresh");
            var page = await Api.JsonAsync(filtered);
            Assert.Empty(Api.Data(page));
            var reach = page.GetProperty("pagination").GetProperty("indexed_through_seq");
            Assert.Equal(indexedBefore, reach.ValueKind == JsonValueKind.Null ? null : reach.GetInt64());
            Assert.True(indexedBefore is null || indexedBefore < first.GetProperty("seq").GetInt64());
            Assert.Equal(indexedBefore?.ToString(CultureInfo.InvariantCulture), filtered.Headers.TryGetValues("Stele-Indexed-Through-Seq", out var header) ? header.Single() : null);

            // Reads that do not need the indexes see the events at once: by id, the unfiltered list, idempotency.
            Assert.Equal("fresh", (await Api.GetJsonAsync(_server.Admin, $"api/v1/events/{first.GetProperty("id").GetString()}")).GetProperty("actor_id").GetString());
            var all = await Api.GetJsonAsync(_server.Admin, "api/v1/events?limit=2");
            Assert.Equal([second.GetProperty("seq").GetInt64(), first.GetProperty("seq").GetInt64()], Api.Data(all).Select(e => e.GetProperty("seq").GetInt64()));
            Assert.Equal(second.GetProperty("seq").GetInt64(), all.GetProperty("pagination").GetProperty("indexed_through_seq").GetInt64());
            using var repeat = await _server.Admin.PostAsJsonAsync("api/v1/events", new { actor_id = "fresh", action = "note.written", idempotency_key = "once" });
            Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
            Assert.Equal(first.GetProperty("id").GetString(), (await Api.JsonAsync(repeat)).GetProperty("id").GetString());
        }

        // Once the indexer passes the events they are found, and the result says so.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        JsonElement after;
        while (true)
        {
            after = await Api.GetJsonAsync(_server.Admin, "api/v1/events?actor_id=fresh");
            var reach = after.GetProperty("pagination").GetProperty("indexed_through_seq");
            if (reach.ValueKind == JsonValueKind.Number && reach.GetInt64() >= second.GetProperty("seq").GetInt64())
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "The indexer did not pass the events within 10 s.");
            await Task.Delay(20);
        }

        Assert.Equal([second.GetProperty("id").GetString(), first.GetProperty("id").GetString()], Api.Data(after).Select(e => e.GetProperty("id").GetString()));
        var ledger = await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/default");
        var last = ledger.GetProperty("size").GetInt64() - 1;
        Assert.Equal(last, ledger.GetProperty("filters_indexed_through_seq").GetInt64());

        // The search index follows behind the others; the ledger's indexed_through_seq covers both.
        while (true)
        {
            var all = (await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/default")).GetProperty("indexed_through_seq");
            Assert.True(all.ValueKind == JsonValueKind.Null || all.GetInt64() <= last);
            if (all.ValueKind == JsonValueKind.Number && all.GetInt64() == last)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "The search index did not pass the events within 10 s.");
            await Task.Delay(20);
        }

        var searched = await Api.GetJsonAsync(_server.Admin, "api/v1/events?search=note.wri");
        Assert.Equal(last, searched.GetProperty("pagination").GetProperty("indexed_through_seq").GetInt64());
        Assert.Equal([second.GetProperty("id").GetString(), first.GetProperty("id").GetString()], Api.Data(searched).Take(2).Select(e => e.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Events_acknowledged_before_a_restart_are_indexed_from_the_store_afterwards_with_every_field()
    {
        await _server.CreateLedgerAsync("resume");
        const int count = 40;
        using (Indexer.Pause())
        {
            var events = Enumerable.Range(0, count).Select(i => new Dictionary<string, object?>
            {
                ["actor_id"] = $"a{i % 3}",
                ["actor_name"] = i == 7 ? "Ünïcode Name" : null,
                ["action"] = i % 2 == 0 ? "item.even" : "item.odd",
                ["resource"] = "item",
                ["resource_id"] = $"r{i}",
                ["tenant_id"] = $"t{i % 4}",
                ["session_id"] = $"s{i / 10}",
                ["outcome"] = i % 5 == 0 ? "failure" : "success",
                ["targets"] = new[] { new { type = $"kind{i % 4}", id = $"k{i}", name = "Target" } },
                ["metadata"] = new { note = $"needle{i % 5}", n = i },
                ["occurred_at"] = T0.AddMinutes(i).ToString("O", CultureInfo.InvariantCulture),
            }).ToArray();
            using var response = await _server.Admin.PostAsJsonAsync("api/v1/ledgers/resume/events/batch", new { events });
            Assert.Equal(count, (await Api.JsonAsync(response)).GetProperty("summary").GetProperty("created").GetInt32());
            Assert.Equal(JsonValueKind.Null, (await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/resume")).GetProperty("indexed_through_seq").ValueKind);

            // The process stops with the entries still in memory only: the restarted one reads them back from the store.
            await _server.RestartAsync();
        }

        await _server.WaitForIndexesAsync("resume");
        static IEnumerable<long> Where(Func<int, bool> match) => Enumerable.Range(0, count).Where(match).Reverse().Select(i => (long)i);
        await AssertSeqsAsync("actor_id=a1", Where(i => i % 3 == 1));
        await AssertSeqsAsync("action=*.even", Where(i => i % 2 == 0));
        await AssertSeqsAsync("resource_id=r17", Where(i => i == 17));
        await AssertSeqsAsync("tenant_id=t2&outcome=failure", Where(i => i % 4 == 2 && i % 5 == 0));
        await AssertSeqsAsync("session_id=s3", Where(i => i / 10 == 3));
        await AssertSeqsAsync("target_type=kind3", Where(i => i % 4 == 3));
        await AssertSeqsAsync("target_id=k9", Where(i => i == 9));
        await AssertSeqsAsync("search=NEEDLE4", Where(i => i % 5 == 4));
        await AssertSeqsAsync("search=ünïcode", Where(i => i == 7));
        await AssertSeqsAsync($"from={Uri.EscapeDataString(T0.AddMinutes(10).ToString("O", CultureInfo.InvariantCulture))}&to={Uri.EscapeDataString(T0.AddMinutes(13).ToString("O", CultureInfo.InvariantCulture))}", Where(i => i is >= 10 and < 13));
    }

    [Fact]
    public async Task A_filtered_export_requested_while_the_indexes_lag_holds_every_acknowledged_event()
    {
        await _server.CreateLedgerAsync("lagging");
        const int count = 25;
        string id;
        using (Indexer.Pause())
        {
            var events = Enumerable.Range(0, count).Select(i => new { actor_id = $"u{i}", action = "record.kept", tenant_id = "acme" }).ToArray();
            using (var response = await _server.Admin.PostAsJsonAsync("api/v1/ledgers/lagging/events/batch", new { events }))
            {
                Assert.Equal(count, (await Api.JsonAsync(response)).GetProperty("summary").GetProperty("created").GetInt32());
            }

            id = await ExportClient.CreateAsync(_server.Admin, "api/v1/ledgers/lagging/", """{"format":"jsonl","tenant_id":"acme"}""");

            // The job waits for the indexes to reach the events acknowledged before it; it does not finish without them.
            await Task.Delay(1500);
            var status = await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/lagging/exports/{id}");
            Assert.NotEqual("succeeded", status.GetProperty("state").GetString());
        }

        await ExportClient.WaitAsync(_server.Admin, "api/v1/ledgers/lagging/", id);
        var lines = (await _server.Admin.GetStringAsync($"api/v1/ledgers/lagging/exports/{id}/download"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(Enumerable.Range(0, count).Reverse().Select(i => (long)i), lines.Select(l => l["seq"]!.GetValue<long>()));
    }

    private async Task AssertSeqsAsync(string query, IEnumerable<long> expected)
    {
        var page = await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/resume/events?limit=100&{query}");
        Assert.True(expected.SequenceEqual(Api.Data(page).Select(e => e.GetProperty("seq").GetInt64())), $"{query}: {page}");
    }

    private async Task<long?> IndexedThroughAsync(string ledger)
    {
        await _server.WaitForIndexesAsync(ledger);
        var reach = (await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/{ledger}")).GetProperty("indexed_through_seq");
        return reach.ValueKind == JsonValueKind.Null ? null : reach.GetInt64();
    }
}

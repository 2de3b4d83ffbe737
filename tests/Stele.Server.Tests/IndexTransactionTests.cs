using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Stele.Server.Indexing;

namespace Stele.Server.Tests;

/// <summary>
/// An indexer that has fallen behind writes many chunks (of the batch size each) in one transaction,
/// from its in-memory hand-over or read back from the store, and every event of every chunk is found.
/// </summary>
public sealed class IndexTransactionTests
{
    private const int BatchSize = 10;
    private const int Count = 130;

    /// <summary>
    /// Held in memory, the backlog's entries are handed over; after a restart (the entries die with the
    /// process) the restarted indexer reads them back from the store.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_backlog_is_indexed_ten_chunks_to_a_transaction(bool restart)
    {
        var logs = new CapturedLogs();
        await using var server = await StartAsync(logs);
        await server.CreateLedgerAsync("behind");
        using (server.Host.Services.GetRequiredService<EventIndexer>().Pause())
        {
            await IngestAsync(server);
            if (restart)
            {
                await server.RestartAsync();
            }
        }

        await server.WaitForIndexesAsync("behind");

        Assert.Equal([(100L, 10, restart), (30L, 3, restart)], Transactions(logs));
        await AssertFoundAsync(server);
    }

    private static Task<TestServer> StartAsync(CapturedLogs logs) =>
        TestServer.StartAsync(new Dictionary<string, string?> { ["IndexBatchSize"] = BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture) }, logs.Configure());

    private static async Task IngestAsync(TestServer server)
    {
        var events = Enumerable.Range(0, Count).Select(i => new
        {
            actor_id = $"a{i % 3}",
            action = "item.made",
            resource = "item",
            resource_id = $"r{i}",
            metadata = new { note = $"needle{i}x" },
        }).ToArray();
        using var response = await server.Admin.PostAsJsonAsync("api/v1/ledgers/behind/events/batch", new { events });
        Assert.Equal(Count, (await Api.JsonAsync(response)).GetProperty("summary").GetProperty("created").GetInt32());
    }

    /// <summary>The ledger's index transactions as logged: events, chunks, and whether any chunk was read back from the store.</summary>
    private static List<(long Events, int Chunks, bool FromStore)> Transactions(CapturedLogs logs) =>
        logs.Entries
            .Where(e => e.EventId.Id == 5001 && Equals(e.Value("Ledger"), "behind"))
            .Select(e => ((long)e.Value("Events")!, (int)e.Value("Chunks")!, (bool)e.Value("FromStore")!))
            .ToList();

    /// <summary>Events on both sides of every chunk and transaction boundary, by an indexed field and by search.</summary>
    private static async Task AssertFoundAsync(TestServer server)
    {
        foreach (var i in new[] { 0, 9, 10, 99, 100, 101, 119, 120, 129 })
        {
            foreach (var query in new[] { $"resource_id=r{i}", $"search=NEEDLE{i}X" })
            {
                var page = await Api.GetJsonAsync(server.Admin, $"api/v1/ledgers/behind/events?{query}");
                Assert.Equal([(long)i], Api.Data(page).Select(e => e.GetProperty("seq").GetInt64()));
            }
        }

        var all = await Api.GetJsonAsync(server.Admin, "api/v1/ledgers/behind/events?actor_id=a1&limit=100");
        Assert.Equal(Enumerable.Range(0, Count).Where(i => i % 3 == 1).Reverse().Select(i => (long)i), Api.Data(all).Select(e => e.GetProperty("seq").GetInt64()));
    }
}

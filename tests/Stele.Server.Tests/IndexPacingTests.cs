using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stele.Server.Indexing;

namespace Stele.Server.Tests;

/// <summary>
/// While the query indexes trail a ledger by more than <c>MaxIndexLag</c> events, its next group commit
/// waits for the indexer (at most <c>MaxCommitHold</c>); beyond <see cref="IndexLagPacer.GiveUpLag"/>, or for
/// a ledger the indexer has not reported on, nothing waits.
/// </summary>
public sealed class IndexPacingTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Nothing_waits_within_the_lag_for_an_unknown_ledger_when_far_behind_or_when_pacing_is_off()
    {
        var pacer = new IndexLagPacer(TimeProvider.System, 10, Long);
        Assert.Equal(TimeSpan.Zero, await pacer.WaitAsync(1, 1000, CancellationToken.None));
        pacer.Indexed(1, 990);
        Assert.Equal(TimeSpan.Zero, await pacer.WaitAsync(1, 1000, CancellationToken.None));
        pacer.Indexed(1, 0);
        Assert.Equal(TimeSpan.Zero, await pacer.WaitAsync(1, IndexLagPacer.GiveUpLag + 1, CancellationToken.None));
        Assert.Equal(TimeSpan.Zero, await pacer.WaitAsync(2, 1000, CancellationToken.None));

        var off = new IndexLagPacer(TimeProvider.System, 0, Long);
        off.Indexed(1, 0);
        Assert.Equal(TimeSpan.Zero, await off.WaitAsync(1, 1000, CancellationToken.None));
    }

    [Fact]
    public async Task A_held_commit_goes_once_the_indexes_come_within_reach_or_are_forgotten()
    {
        var pacer = new IndexLagPacer(TimeProvider.System, 10, Long);
        pacer.Indexed(1, 0);
        var held = pacer.WaitAsync(1, 100, CancellationToken.None).AsTask();
        pacer.Indexed(1, 50);
        await Task.Delay(200);
        Assert.False(held.IsCompleted, "released while the indexes still trailed by 50 events");
        pacer.Indexed(1, 90);
        Assert.True((await held.WaitAsync(Long)) > TimeSpan.Zero);

        pacer.Indexed(2, 0);
        var forgotten = pacer.WaitAsync(2, 100, CancellationToken.None).AsTask();
        await Task.Delay(100);
        Assert.False(forgotten.IsCompleted);
        pacer.Forget(2);
        await forgotten.WaitAsync(Long);
    }

    [Fact]
    public async Task A_commit_is_held_no_longer_than_the_longest_hold()
    {
        var pacer = new IndexLagPacer(TimeProvider.System, 10, TimeSpan.FromMilliseconds(300));
        pacer.Indexed(1, 0);
        var started = Stopwatch.GetTimestamp();
        var held = await pacer.WaitAsync(1, 100, CancellationToken.None).AsTask().WaitAsync(Long);
        Assert.InRange(held, TimeSpan.FromMilliseconds(250), Long);
        Assert.True(Stopwatch.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(250));
    }

    /// <summary>
    /// On a real server with the indexer held back: a batch beyond the lag commits (nothing trailed when it
    /// came), the next ingest waits, and it is answered once the indexer, let go, has come within reach.
    /// </summary>
    [Fact]
    public async Task Ingestion_waits_for_indexes_that_trail_by_more_than_the_lag_and_goes_on_once_they_catch_up()
    {
        var logs = new CapturedLogs();
        await using var server = await TestServer.StartAsync(
            new Dictionary<string, string?> { ["MaxIndexLag"] = "10", ["MaxCommitHold"] = "00:00:30" },
            logs.Configure());
        await server.CreateLedgerAsync("paced");
        // Indexed once, so the indexer knows where the ledger's indexes are before it is held back.
        await Api.IngestAsync(server.Admin, "api/v1/ledgers/paced/events", new { actor_id = "first", action = "item.made" });
        await server.WaitForIndexesAsync("paced");
        var indexer = server.Host.Services.GetRequiredService<EventIndexer>();
        Task<JsonElement> next;
        using (indexer.Pause())
        {
            var events = Enumerable.Range(0, 50).Select(i => new { actor_id = $"a{i}", action = "item.made" }).ToArray();
            using (var response = await server.Admin.PostAsJsonAsync("api/v1/ledgers/paced/events/batch", new { events }))
            {
                Assert.Equal(50, (await Api.JsonAsync(response)).GetProperty("summary").GetProperty("created").GetInt32());
            }

            next = Api.IngestAsync(server.Admin, "api/v1/ledgers/paced/events", new { actor_id = "late", action = "item.made" });
            await Task.Delay(300);
            Assert.False(next.IsCompleted, "the ingest was answered while the indexes trailed by 50 events");
        }

        var late = await next.WaitAsync(Long);
        Assert.Equal(51, late.GetProperty("seq").GetInt64());
        var ledger = await Api.GetJsonAsync(server.Admin, "api/v1/ledgers/paced");
        Assert.True(ledger.GetProperty("filters_indexed_through_seq").GetInt64() >= 51 - 10 - 1);
        Assert.Contains(logs.Entries, e => e.EventId.Id == 1008 && Equals(e.Value("Ledger"), "paced"));
    }

    [Fact]
    public async Task With_pacing_off_ingestion_never_waits_for_the_indexes()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["MaxIndexLag"] = "0", ["MaxCommitHold"] = "00:00:30" });
        await server.CreateLedgerAsync("unpaced");
        await Api.IngestAsync(server.Admin, "api/v1/ledgers/unpaced/events", new { actor_id = "first", action = "item.made" });
        await server.WaitForIndexesAsync("unpaced");
        using (server.Host.Services.GetRequiredService<EventIndexer>().Pause())
        {
            var events = Enumerable.Range(0, 50).Select(i => new { actor_id = $"a{i}", action = "item.made" }).ToArray();
            using (await server.Admin.PostAsJsonAsync("api/v1/ledgers/unpaced/events/batch", new { events }))
            {
            }

            var started = Stopwatch.GetTimestamp();
            await Api.IngestAsync(server.Admin, "api/v1/ledgers/unpaced/events", new { actor_id = "late", action = "item.made" }).WaitAsync(Long);
            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(20));
        }
    }
}

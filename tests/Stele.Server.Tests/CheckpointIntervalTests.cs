using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stele.Storage;
using Xunit.Abstractions;

namespace Stele.Server.Tests;

/// <summary>
/// Checkpoint timing: a proof for an acknowledged event is available within about an interval, a
/// steadily growing ledger gets about one checkpoint per interval, and an event after a quiet spell
/// is covered the moment it is acknowledged.
/// </summary>
public sealed class CheckpointIntervalTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Growth = TimeSpan.FromSeconds(6);

    [Fact]
    public async Task At_a_one_second_interval_proofs_follow_within_two_seconds_and_checkpoints_come_once_a_second()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["CheckpointInterval"] = "00:00:01" });
        Assert.Equal(TimeSpan.FromSeconds(1), server.Host.Options.CheckpointInterval);
        var store = server.Host.Services.GetRequiredService<ISteleStore>();
        var ledger = (await store.FindLedgerAsync("default", CancellationToken.None))!;
        var before = (await store.GetLatestCheckpointAsync(ledger.Id, CancellationToken.None))?.Size ?? 0;

        // The server's clock is the wall clock: this maps a checkpoint's time onto the acknowledgements' timestamps.
        var wallAtStart = DateTimeOffset.UtcNow;
        var timestampAtStart = Stopwatch.GetTimestamp();

        // A steady writer keeps the ledger growing for the whole window, noting when each event was acknowledged.
        using var stop = new CancellationTokenSource();
        Acknowledged? latest = null;
        var acknowledgements = new List<long>();
        var writer = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var created = await Api.IngestAsync(server.Admin, "api/v1/events", new { actor_id = $"user_{i}", action = "checkpoint.interval" });
                var acknowledged = new Acknowledged(created.GetProperty("id").GetString()!, Stopwatch.GetTimestamp());
                lock (acknowledgements)
                {
                    acknowledgements.Add(acknowledged.AckedAt);
                }

                Volatile.Write(ref latest, acknowledged);
                await Task.Delay(20);
            }
        });

        // Meanwhile, every quarter second, time how long the event acknowledged last waits for its proof.
        var window = Stopwatch.StartNew();
        var samples = new List<(Acknowledged Sample, Task<TimeSpan> Latency)>();
        while (window.Elapsed < Growth)
        {
            await Task.Delay(250);
            if (Volatile.Read(ref latest) is { } sample)
            {
                samples.Add((sample, TimeToProofAsync(server, sample)));
            }
        }

        var latencies = await Task.WhenAll(samples.Select(s => s.Latency));
        await stop.CancelAsync();
        await writer;
        var grown = window.Elapsed;

        output.WriteLine($"proof latencies (ms): {string.Join(", ", latencies.Select(l => l.TotalMilliseconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.True(latencies.Length >= 10, $"only {latencies.Length} samples");

        // Within two intervals, unless the whole machine stalled meanwhile (a busy CI host running
        // other suites beside this one): then the writer's acknowledgements stopped too, and the
        // longest gap between two of them while the sample waited is added to the allowance. A
        // checkpointer that falls behind while commits flow gets no such allowance.
        for (var s = 0; s < samples.Count; s++)
        {
            var stall = LongestGap(acknowledgements, samples[s].Sample.AckedAt, samples[s].Sample.AckedAt + (long)(latencies[s].TotalSeconds * Stopwatch.Frequency));
            Assert.True(latencies[s] < TimeSpan.FromSeconds(2) + stall, $"a proof took {latencies[s].TotalMilliseconds:0} ms; the longest pause in acknowledgements meanwhile was {stall.TotalMilliseconds:0} ms");
        }

        // Checkpoints signed while the ledger grew: about one per interval. A commit signs a little
        // early when waiting for the next commit would keep an event waiting longer than the
        // interval, by up to two of the longest recent commit times: a few milliseconds here, hence
        // the margin, unless a commit stalled (the machine busy with other suites), which shows as a
        // pause in the writer's acknowledgements before the checkpoint, allowed for twice.
        var size = (await store.GetHeadAsync(ledger.Id, CancellationToken.None)).Size;
        var signed = (await store.ListCheckpointsAsync(ledger.Id, before + 1, size, CancellationToken.None)).OrderBy(c => c.Size).ToList();
        var gaps = signed.Zip(signed.Skip(1), (a, b) => b.CreatedAt - a.CreatedAt).ToList();
        output.WriteLine($"{signed.Count} checkpoints in {grown.TotalSeconds:0.0} s of growth; gaps (ms): {string.Join(", ", gaps.Select(g => g.TotalMilliseconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}");
        for (var i = 1; i < signed.Count; i++)
        {
            var at = timestampAtStart + (long)((signed[i].CreatedAt - wallAtStart).TotalSeconds * Stopwatch.Frequency);
            var stall = LongestGap(acknowledgements, at - Stopwatch.Frequency, at);
            var gap = signed[i].CreatedAt - signed[i - 1].CreatedAt;
            Assert.True(
                gap >= TimeSpan.FromMilliseconds(800) - (2 * stall),
                $"two checkpoints {gap.TotalMilliseconds:0} ms apart; the longest pause in acknowledgements in the second before was {stall.TotalMilliseconds:0} ms");
        }
        Assert.True(signed.Count <= (int)Math.Ceiling(grown.TotalSeconds) + 1, $"{signed.Count} checkpoints in {grown.TotalSeconds:0.0} s");
        Assert.True(signed.Count >= (int)Math.Floor(grown.TotalSeconds) - 1, $"only {signed.Count} checkpoints in {grown.TotalSeconds:0.0} s of growth");
        Assert.All(signed.Zip(signed.Skip(1)), p => Assert.True(p.Second.Size > p.First.Size));
    }

    [Fact]
    public async Task An_event_after_a_quiet_spell_is_covered_by_a_checkpoint_written_with_it()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["CheckpointInterval"] = "00:00:01" });
        await Api.IngestAsync(server.Admin, "api/v1/events", new { actor_id = "user_1", action = "quiet.before" });
        await server.WaitForCheckpointAsync(server.Admin, "api/v1/", 1);

        // The last checkpoint is more than an interval old when the next event arrives, so the
        // group commit that stores the event stores its checkpoint too: the answer and the
        // checkpoint are durable together, with no wait for the checkpoint loop's next tick.
        await Task.Delay(TimeSpan.FromMilliseconds(1200));
        var created = await Api.IngestAsync(server.Admin, "api/v1/events", new { actor_id = "user_2", action = "quiet.after" });
        using (var response = await server.Admin.GetAsync("api/v1/checkpoint"))
        {
            var checkpoint = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(2, checkpoint.GetProperty("tree_size").GetInt64());
        }

        using (var proof = await server.Admin.GetAsync($"api/v1/events/{created.GetProperty("id").GetString()}/proof"))
        {
            Assert.Equal(HttpStatusCode.OK, proof.StatusCode);
        }

        // It is a checkpoint like any other: the whole ledger verifies against it.
        var report = JsonDocument.Parse(await server.Admin.GetStringAsync("api/v1/verify")).RootElement;
        Assert.True(report.GetProperty("valid").GetBoolean(), report.ToString());
        Assert.Equal(2, report.GetProperty("events_checked").GetInt64());
    }

    [Fact]
    public async Task A_commit_of_a_thousand_events_carries_its_checkpoint_even_right_after_another()
    {
        // A long interval: once the empty ledger's checkpoint is signed at start, neither the loop
        // nor the interval rule signs again during the test.
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["CheckpointInterval"] = "00:00:30" });
        await server.WaitForCheckpointAsync(server.Admin, "api/v1/", 0);

        var events = Enumerable.Range(0, 1000).Select(i => new { actor_id = $"user_{i}", action = "heavy.batch" }).ToArray();
        using (var response = await server.Admin.PostAsJsonAsync("api/v1/events/batch", new { events }))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        // Heavy ingestion: the commit that stored the batch stored a checkpoint covering it.
        var checkpoint = JsonDocument.Parse(await server.Admin.GetStringAsync("api/v1/checkpoint")).RootElement;
        Assert.Equal(1000, checkpoint.GetProperty("tree_size").GetInt64());

        // A small commit right after still signs (a large one is among the last four), so its
        // events do not wait for a later commit that may stall.
        await Api.IngestAsync(server.Admin, "api/v1/events", new { actor_id = "user_x", action = "heavy.after" });
        checkpoint = JsonDocument.Parse(await server.Admin.GetStringAsync("api/v1/checkpoint")).RootElement;
        Assert.Equal(1001, checkpoint.GetProperty("tree_size").GetInt64());
    }

    [Theory]
    // The last checkpoint is an interval old: sign, whatever else is waiting.
    [InlineData(1000, null, 0, true)]
    [InlineData(999, null, 0, false)]
    // Nothing acknowledged is waiting: the events of this commit are covered by a later one.
    [InlineData(400, null, 300, false)]
    // An event acknowledged 300 ms ago would wait 300 + 2 x 200 = 700 ms if left to the next commit.
    [InlineData(500, 300, 200, false)]
    // ... and 300 + 2 x 400 = 1,100 ms with slow commits: sign in this one.
    [InlineData(500, 300, 400, true)]
    // Exactly the interval counts as due.
    [InlineData(500, 600, 200, true)]
    // Under heavy ingestion (a recent commit of a thousand events) every commit signs; one fewer does not count.
    [InlineData(10, null, 0, true, 1000)]
    [InlineData(10, null, 0, false, 999)]
    public void A_commit_signs_under_heavy_ingestion_when_the_interval_is_up_or_when_an_acknowledged_event_would_wait_longer(
        int sinceLastMs, int? sinceOldestUncoveredMs, int commitMs, bool due, int largestRecentCommit = 10)
    {
        var now = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        var interval = TimeSpan.FromSeconds(1);
        DateTimeOffset? waiting = sinceOldestUncoveredMs is { } ms ? now.AddMilliseconds(-ms) : null;
        Assert.Equal(due, Integrity.CheckpointSchedule.IsDue(largestRecentCommit, now, now.AddMilliseconds(-sinceLastMs), waiting, TimeSpan.FromMilliseconds(commitMs), interval));
    }

    [Fact]
    public async Task The_tiles_below_the_latest_checkpoint_are_summarised_in_the_background_once_a_proof_is_asked()
    {
        await using var server = await TestServer.StartAsync();
        var events = Enumerable.Range(0, 600).Select(i => new { actor_id = $"user_{i}", action = "tiles.warmed" }).ToArray();
        string firstId;
        using (var response = await server.Admin.PostAsJsonAsync("api/v1/events/batch", new { events }))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            firstId = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("data")[0].GetProperty("event").GetProperty("id").GetString()!;
        }

        var store = server.Host.Services.GetRequiredService<ISteleStore>();
        var tiles = server.Host.Services.GetRequiredService<Integrity.ProofTiles>();
        var ledger = (await store.FindLedgerAsync("default", CancellationToken.None))!;
        var checkpointed = Stopwatch.StartNew();
        while ((await store.GetLatestCheckpointAsync(ledger.Id, CancellationToken.None))?.Size < 512 && checkpointed.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(25);
        }

        // A ledger nobody has asked a proof of keeps no summaries: the checkpointer's 50-ms ticks,
        // which would have summarised both full tiles by now, leave it alone.
        await Task.Delay(300);
        Assert.Equal(0, tiles.WarmedTiles(ledger.Id));

        using (var proof = await server.Admin.GetAsync($"api/v1/events/{firstId}/proof"))
        {
            Assert.Equal(HttpStatusCode.OK, proof.StatusCode);
        }

        var waited = Stopwatch.StartNew();
        while (tiles.WarmedTiles(ledger.Id) < 2 && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(25);
        }

        // 600 events fill two tiles of 256; the third is partial and left to the proofs.
        Assert.Equal(2, tiles.WarmedTiles(ledger.Id));
        Assert.True((await store.GetLatestCheckpointAsync(ledger.Id, CancellationToken.None))!.Size >= 512);
    }

    private static async Task<TimeSpan> TimeToProofAsync(TestServer server, Acknowledged sample)
    {
        using var client = server.Client(server.AdminKey);
        while (true)
        {
            using var response = await client.GetAsync($"api/v1/events/{sample.Id}/proof");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return Stopwatch.GetElapsedTime(sample.AckedAt);
            }

            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.True(Stopwatch.GetElapsedTime(sample.AckedAt) < TimeSpan.FromSeconds(5), "no proof within 5 s");
            await Task.Delay(25);
        }
    }

    /// <summary>The longest time between consecutive acknowledgements around [from, to] (timestamps), including the gaps that span its ends.</summary>
    private static TimeSpan LongestGap(List<long> acknowledgements, long from, long to)
    {
        var longest = 0L;
        for (var i = 1; i < acknowledgements.Count; i++)
        {
            if (acknowledgements[i] >= from && acknowledgements[i - 1] <= to)
            {
                longest = Math.Max(longest, acknowledgements[i] - acknowledgements[i - 1]);
            }
        }

        return TimeSpan.FromSeconds((double)longest / Stopwatch.Frequency);
    }

    private sealed record Acknowledged(string Id, long AckedAt);
}

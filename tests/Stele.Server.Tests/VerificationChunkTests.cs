using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Stele.Core.Verification;
using Stele.Server.Alerts;
using Stele.Storage;

namespace Stele.Server.Tests;

/// <summary>
/// <c>GET /verify</c> reads and prepares a ledger in chunks of 2,000 rows, several at once, and checks
/// the chain and tree strictly in seq order: breaks that straddle a chunk boundary, or fall in a later
/// chunk, are reported at their seqs exactly as within one chunk, over the whole ledger and over a range,
/// and the tamper monitor's pass, which reads one 250-row chunk at a time, reports the same.
/// </summary>
public sealed class VerificationChunkTests : IAsyncLifetime
{
    private const int Events = 6_500;
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        await _server.IngestAsync(Events, 500, i => new { actor_id = $"user_{i % 17}", action = "document.viewed", metadata = new { i } });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Breaks_at_and_beyond_chunk_boundaries_are_reported_at_their_seqs()
    {
        var clean = await VerifyAsync("api/v1/verify");
        Assert.True(clean.GetProperty("valid").GetBoolean(), clean.ToString());
        Assert.Equal(Events, clean.GetProperty("events_checked").GetInt64());
        var cleanRoot = clean.GetProperty("root_hash").GetString();

        await _server.StopAsync();
        using (var db = new TamperedLedgerFile(_server.DatabasePath))
        {
            var ledger = db.DefaultLedgerId;
            // Swap the last row of the first chunk with the first row of the second.
            foreach (var table in new[] { "events", "payloads" })
            {
                db.Execute($"UPDATE {table} SET seq = -1 WHERE ledger_id = {ledger} AND seq = 1999");
                db.Execute($"UPDATE {table} SET seq = 1999 WHERE ledger_id = {ledger} AND seq = 2000");
                db.Execute($"UPDATE {table} SET seq = 2000 WHERE ledger_id = {ledger} AND seq = -1");
            }

            // Delete a row in the fourth chunk.
            db.Execute($"DELETE FROM payloads WHERE ledger_id = {ledger} AND seq = 6001; DELETE FROM events WHERE ledger_id = {ledger} AND seq = 6001;");
        }

        await _server.RestartAsync();
        var whole = await VerifyAsync("api/v1/verify");
        Assert.False(whole.GetProperty("valid").GetBoolean());
        Assert.Equal(Events - 1, whole.GetProperty("events_checked").GetInt64());
        var breaks = Breaks(whole);
        Assert.Equal((1999L, "chain_break"), breaks[0]);
        Assert.Contains((2000L, "chain_break"), breaks);
        Assert.Contains((6001L, "missing_event"), breaks);
        Assert.DoesNotContain(breaks, b => b.Seq is > 2000 and < 6001 && b.Type != "root_mismatch" && b.Type != "checkpoint_inconsistent");
        Assert.NotEqual(cleanRoot, whole.GetProperty("root_hash").ValueKind == JsonValueKind.String ? whole.GetProperty("root_hash").GetString() : null);

        // The tamper monitor's background pass reads one chunk at a time and finds exactly the same.
        var store = _server.Host.Services.GetRequiredService<ISteleStore>();
        var ledgerInfo = await store.FindLedgerAsync("default", CancellationToken.None);
        var sweep = await _server.Host.Services.GetRequiredService<TamperMonitor>().CheckAsync(ledgerInfo!, CancellationToken.None);
        Assert.Equal(Events - 1, sweep.EventsChecked);
        Assert.Equal(whole.GetProperty("root_hash").ValueKind == JsonValueKind.String ? whole.GetProperty("root_hash").GetString() : null, sweep.RootHash);
        Assert.Equal(breaks, sweep.Breaks.Select(b => (b.Seq, b.Type.ToWireName())).ToList());

        // A range that starts and ends inside chunks sees only the breaks inside it.
        var range = await VerifyAsync("api/v1/verify?from=1500&to=2500");
        Assert.Equal(1000, range.GetProperty("events_checked").GetInt64());
        var inRange = Breaks(range);
        Assert.Equal((1999L, "chain_break"), inRange[0]);
        Assert.Contains((2000L, "chain_break"), inRange);
        Assert.DoesNotContain(inRange, b => b.Seq is < 1500 or >= 2500);
    }

    private async Task<JsonElement> VerifyAsync(string path) =>
        JsonDocument.Parse(await _server.Admin.GetStringAsync(path)).RootElement.Clone();

    private static List<(long Seq, string Type)> Breaks(JsonElement report) =>
        report.GetProperty("breaks").EnumerateArray().Select(b => (b.GetProperty("seq").GetInt64(), b.GetProperty("type").GetString()!)).ToList();
}

using System.Text;
using System.Text.Json;
using Stele.Cli.Commands;
using Stele.Core.Notes;
using Stele.Core.Verification;

namespace Stele.Server.Tests;

/// <summary>
/// Tampering done directly in the SQLite file (append-only triggers dropped first), then found by
/// both <c>GET /verify</c> (from the database) and <c>stele verify</c> (from the /tlog tiles).
/// </summary>
public sealed class TamperDetectionTests : IAsyncLifetime
{
    private const int Events = 600;
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        await _server.IngestAsync(Events, 200, i => new
        {
            actor_id = $"user_{i % 17}",
            actor_name = $"User {i}",
            action = i % 3 == 0 ? "document.deleted" : "document.viewed",
            resource = "document",
            resource_id = $"doc_{i}",
            metadata = new { i },
        });
        var clean = await VerifyThroughApiAsync();
        Assert.True(clean.GetProperty("valid").GetBoolean(), clean.ToString());
        await _server.StopAsync();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_changed_leaf_byte_is_a_leaf_mismatch_at_its_seq()
    {
        Tamper(db =>
        {
            var leaf = (byte[])db.Scalar("SELECT leaf FROM events WHERE seq = 5 AND ledger_id = 2")!;
            var text = Encoding.UTF8.GetString(leaf).Replace("\"user_5\"", "\"user_6\"", StringComparison.Ordinal);
            db.Execute("UPDATE events SET leaf = $v WHERE ledger_id = 2 AND seq = 5", Encoding.UTF8.GetBytes(text));
        });

        await AssertFirstBreakAsync(5, "leaf_mismatch");
    }

    [Fact]
    public async Task A_changed_payload_byte_is_a_payload_mismatch_at_its_seq()
    {
        Tamper(db =>
        {
            var payload = (byte[])db.Scalar("SELECT payload FROM payloads WHERE seq = 9 AND ledger_id = 2")!;
            var text = Encoding.UTF8.GetString(payload).Replace("User 9", "User X", StringComparison.Ordinal);
            db.Execute("UPDATE payloads SET payload = $v WHERE ledger_id = 2 AND seq = 9", Encoding.UTF8.GetBytes(text));
        });

        await AssertFirstBreakAsync(9, "payload_mismatch");
    }

    [Fact]
    public async Task A_deleted_row_is_a_missing_event_at_its_seq()
    {
        Tamper(db =>
        {
            db.Execute("DELETE FROM payloads WHERE ledger_id = 2 AND seq = 7");
            db.Execute("DELETE FROM events WHERE ledger_id = 2 AND seq = 7");
        });

        await AssertFirstBreakAsync(7, "missing_event");
    }

    [Fact]
    public async Task An_inserted_row_is_a_chain_break_at_its_seq()
    {
        Tamper(db =>
        {
            // Make room at seq 11 by moving every later row up by one, then insert a copy of seq 3.
            foreach (var table in new[] { "events", "payloads" })
            {
                db.Execute($"UPDATE {table} SET seq = -(seq + 1) WHERE ledger_id = 2 AND seq >= 11");
                db.Execute($"UPDATE {table} SET seq = -seq WHERE ledger_id = 2 AND seq < 0");
            }

            db.Execute(
                """
                INSERT INTO events (ledger_id, seq, id, received_at, idempotency_key, leaf, leaf_hash, chain_hash)
                SELECT ledger_id, 11, 'evt_forged', received_at, NULL, leaf, leaf_hash, chain_hash FROM events WHERE ledger_id = 2 AND seq = 3
                """);
            db.Execute("INSERT INTO payloads (ledger_id, seq, payload) SELECT ledger_id, 11, payload FROM payloads WHERE ledger_id = 2 AND seq = 3");
        });

        await AssertFirstBreakAsync(11, "chain_break");
    }

    [Fact]
    public async Task Two_swapped_rows_are_chain_breaks_at_both_seqs()
    {
        Tamper(db =>
        {
            foreach (var table in new[] { "events", "payloads" })
            {
                db.Execute($"UPDATE {table} SET seq = -1 WHERE ledger_id = 2 AND seq = 3");
                db.Execute($"UPDATE {table} SET seq = 3 WHERE ledger_id = 2 AND seq = 4");
                db.Execute($"UPDATE {table} SET seq = 4 WHERE ledger_id = 2 AND seq = -1");
            }
        });

        var (api, tlog) = await VerifyBothWaysAsync();
        foreach (var breaks in new[] { api, tlog })
        {
            Assert.Contains(breaks, b => b.Seq == 3 && b.Type == "chain_break");
            Assert.Contains(breaks, b => b.Seq == 4 && b.Type == "chain_break");
            Assert.Equal(3, breaks[0].Seq);
        }
    }

    private void Tamper(Action<TamperedLedgerFile> change)
    {
        using var db = new TamperedLedgerFile(_server.DatabasePath);
        // The default ledger is the second one created (after _system); the statements below name it as ledger_id 2.
        Assert.Equal(2L, db.DefaultLedgerId);
        change(db);
    }

    private async Task AssertFirstBreakAsync(long seq, string type)
    {
        var (api, tlog) = await VerifyBothWaysAsync();
        Assert.True(api.Count > 0, "GET /verify found nothing");
        Assert.True(tlog.Count > 0, "stele verify found nothing");
        Assert.True((seq, type) == (api[0].Seq, api[0].Type), "GET /verify: " + string.Join(", ", api.Take(5)));
        Assert.True((seq, type) == (tlog[0].Seq, tlog[0].Type), "stele verify: " + string.Join(", ", tlog.Take(5)));
    }

    private async Task<(List<(long Seq, string Type)> Api, List<(long Seq, string Type)> Tlog)> VerifyBothWaysAsync()
    {
        // Restarting re-arms the triggers (created IF NOT EXISTS at start) and serves the tampered data.
        await _server.RestartAsync();
        var report = await VerifyThroughApiAsync();
        Assert.False(report.GetProperty("valid").GetBoolean(), report.ToString());
        var api = report.GetProperty("breaks").EnumerateArray()
            .Select(b => (b.GetProperty("seq").GetInt64(), b.GetProperty("type").GetString()!))
            .ToList();

        var vkey = NoteVerifierKey.Parse((await _server.Client().GetStringAsync("api/v1/public-key")).Trim());
        VerificationReport offline = await VerifyCommand.VerifyAsync(_server.Admin, "default", vkey, null, CancellationToken.None);
        Assert.False(offline.IsValid);
        var tlog = offline.Breaks.Select(b => (b.Seq, b.Type.ToWireName())).ToList();
        return (api, tlog);
    }

    private async Task<JsonElement> VerifyThroughApiAsync() =>
        JsonDocument.Parse(await _server.Admin.GetStringAsync("api/v1/verify")).RootElement.Clone();
}

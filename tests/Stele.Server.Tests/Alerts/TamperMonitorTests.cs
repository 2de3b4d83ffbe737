using System.Text.Json;
using static Stele.Server.Tests.Alerts.AlertTestServer;

namespace Stele.Server.Tests.Alerts;

/// <summary>
/// The tamper monitor re-verifies ledgers in the background: a change made directly in the SQLite
/// file (triggers dropped first) raises the ledger's integrity_violation alert with the break
/// report, delivered to the built-in rule's destinations; the same break raises it once.
/// </summary>
public sealed class TamperMonitorTests
{
    [Fact]
    public async Task A_changed_row_raises_one_integrity_alert_naming_the_break_and_a_new_break_raises_another()
    {
        await using var receiver = await AlertReceiver.StartAsync();
        await using var server = await AlertTestServer.StartAsync(new() { ["Alerts:TamperCheckInterval"] = "00:00:00.200" });
        var hook = await CreateAsync(server.Admin, "api/v1/alert-destinations", new { type = "webhook", url = receiver.Url.AbsoluteUri });
        using (var patch = await server.Admin.PatchAsync("api/v1/alert-rules/rul_integrity_default", JsonContent(new { destinations = new[] { hook.GetProperty("id").GetString() } })))
        {
            Assert.True(patch.IsSuccessStatusCode, await patch.Content.ReadAsStringAsync());
        }

        await Api.IngestAsync(server.Admin, "api/v1/events/batch", new { events = Enumerable.Range(0, 10).Select(i => new { actor_id = $"u_{i}", action = "document.viewed" }) });
        await server.WaitForCheckpointAsync(server.Admin, "api/v1/", 10);

        // An intact ledger raises nothing, pass after pass.
        await Task.Delay(1000);
        Assert.Empty(Api.Data(await Api.GetJsonAsync(server.Admin, "api/v1/alerts?type=integrity_violation")));

        Tamper(server, "UPDATE events SET leaf = CAST(replace(CAST(leaf AS TEXT), 'u_4', 'u_X') AS BLOB) WHERE ledger_id = 2 AND seq = 4");
        var alert = (await WaitForAlertsAsync(server.Admin, 1, "?type=integrity_violation"))[0];
        Assert.Equal("rul_integrity_default", alert.GetProperty("rule_id").GetString());
        Assert.Equal("Verification of ledger default found 1 break(s); the first is leaf_mismatch at seq 4", alert.GetProperty("reason").GetString());
        var breaks = alert.GetProperty("details").GetProperty("breaks");
        Assert.Equal(4, breaks[0].GetProperty("seq").GetInt64());
        Assert.Equal("leaf_mismatch", breaks[0].GetProperty("type").GetString());
        Assert.Equal(64, breaks[0].GetProperty("expected_hash").GetString()!.Length);

        var request = Assert.Single(await receiver.WaitForAsync(1));
        Assert.Equal("integrity_violation", JsonDocument.Parse(request.Body).RootElement.GetProperty("data").GetProperty("rule_type").GetString());

        // Found again on every pass, it is the same alert.
        await Task.Delay(1200);
        Assert.Single(Api.Data(await Api.GetJsonAsync(server.Admin, "api/v1/alerts?type=integrity_violation")));

        // Another break is news.
        Tamper(server, "DELETE FROM events WHERE ledger_id = 2 AND seq = 7");
        var both = await WaitForAlertsAsync(server.Admin, 2, "?type=integrity_violation");
        var newest = both[0];
        var types = newest.GetProperty("details").GetProperty("breaks").EnumerateArray().Select(b => (b.GetProperty("seq").GetInt64(), b.GetProperty("type").GetString())).ToList();
        Assert.Contains((4L, "leaf_mismatch"), types);
        Assert.Contains((7L, "missing_event"), types);
        await receiver.WaitForAsync(2);
    }

    private static StringContent JsonContent(object value) => new(JsonSerializer.Serialize(value), System.Text.Encoding.UTF8, "application/json");

    private static void Tamper(TestServer server, string sql)
    {
        using var db = new TamperedLedgerFile(server.DatabasePath);
        Assert.Equal(2L, db.DefaultLedgerId);
        Assert.Equal(1, db.Execute(sql));
    }
}

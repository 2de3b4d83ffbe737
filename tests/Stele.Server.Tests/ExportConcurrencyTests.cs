namespace Stele.Server.Tests;

/// <summary>
/// Without configuration, at most 5 exports of one ledger run at once (issue: "at most 5 run at
/// once per ledger"); the rest wait queued, and other ledgers are not held up by them.
/// </summary>
public sealed class ExportConcurrencyTests
{
    [Fact]
    public async Task By_default_five_exports_of_a_ledger_run_at_once_and_the_rest_wait_queued()
    {
        // No checkpoint is signed for ten minutes after the first, so each proof export of an event
        // ingested after it keeps running (waiting for a covering checkpoint) and holds its slot.
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["CheckpointInterval"] = "00:10:00" });
        Assert.Equal(5, server.Host.Options.ExportConcurrencyPerLedger);
        await server.CreateLedgerAsync("other");
        await server.WaitForCheckpointAsync(server.Admin, "api/v1/", 0);
        await server.WaitForCheckpointAsync(server.Admin, "api/v1/ledgers/other/", 0);
        await Api.IngestAsync(server.Admin, "api/v1/events", new { actor_id = "u", action = "export.waits" });
        await Api.IngestAsync(server.Admin, "api/v1/ledgers/other/events", new { actor_id = "u", action = "export.runs" });
        Assert.Equal(0, (await Api.GetJsonAsync(server.Admin, "api/v1/checkpoint")).GetProperty("tree_size").GetInt64());

        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            ids.Add(await ExportClient.CreateAsync(server.Admin, "api/v1/", """{"format":"jsonl","include_proofs":true}"""));
        }

        // Wait until the scheduler has claimed what it may, then watch: five run, two wait, for a while.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        Dictionary<string, string> states;
        do
        {
            await Task.Delay(100);
            states = await StatesAsync(server, ids);
        }
        while (states.Values.Count(s => s == "running") < 5 && DateTime.UtcNow < deadline);

        for (var look = 0; look < 8; look++)
        {
            Assert.Equal(5, states.Values.Count(s => s == "running"));
            Assert.Equal(2, states.Values.Count(s => s == "queued"));
            await Task.Delay(250);
            states = await StatesAsync(server, ids);
        }

        // The queued ones are the last two asked for (oldest first).
        Assert.All(ids[5..], id => Assert.Equal("queued", states[id]));

        // Another ledger's export is not held up by this ledger's five.
        var other = await ExportClient.CreateAsync(server.Admin, "api/v1/ledgers/other/", """{"format":"csv"}""");
        var done = await ExportClient.WaitAsync(server.Admin, "api/v1/ledgers/other/", other, TimeSpan.FromSeconds(15));
        Assert.Equal(1, done.GetProperty("rows_done").GetInt64());
        Assert.Equal(5, (await StatesAsync(server, ids)).Values.Count(s => s == "running"));
    }

    private static async Task<Dictionary<string, string>> StatesAsync(TestServer server, List<string> ids)
    {
        var states = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            var status = await Api.GetJsonAsync(server.Admin, $"api/v1/exports/{id}");
            states[id] = status.GetProperty("state").GetString()!;
        }

        return states;
    }
}

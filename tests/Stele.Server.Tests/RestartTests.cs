using System.Net;
using System.Net.Http.Json;

namespace Stele.Server.Tests;

/// <summary>Everything survives a restart: events, keys, ledgers, the chain and the tree.</summary>
public sealed class RestartTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Data_keys_and_the_chain_survive_a_restart_and_seq_continues_without_gaps()
    {
        Assert.NotNull(_server.Host.BootstrapAdminKey);
        await _server.CreateLedgerAsync("kept");
        var ledgerKey = await _server.CreateKeyAsync("kept", "ingest", "read");
        var revokedKey = await _server.CreateKeyAsync(null, "read");
        using (var revoke = await _server.Admin.DeleteAsync($"api/v1/keys/{Api.KeyId(revokedKey)}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        var before = new List<string>();
        for (var i = 0; i < 15; i++)
        {
            before.Add((await Api.IngestAsync(_server.Admin, "api/v1/events", new { actor_id = $"u{i}", action = "before.restart", idempotency_key = $"k{i}" })).GetProperty("id").GetString()!);
        }

        using (var client = _server.Client(ledgerKey))
        {
            await Api.IngestAsync(client, "api/v1/events", new { actor_id = "lk", action = "before.restart" });
        }

        var systemSize = await Api.LedgerSizeAsync(_server, "_system");
        await _server.WaitForCheckpointAsync(_server.Admin, "api/v1/", 15);

        await _server.RestartAsync();

        Assert.Null(_server.Host.BootstrapAdminKey);
        Assert.Equal(15, await Api.LedgerSizeAsync(_server));
        Assert.Equal(systemSize, await Api.LedgerSizeAsync(_server, "_system"));
        foreach (var (id, seq) in before.Select((id, seq) => (id, seq)))
        {
            Assert.Equal(seq, (await Api.GetJsonAsync(_server.Admin, $"api/v1/events/{id}")).GetProperty("seq").GetInt64());
        }

        // Seq continues where it stopped; idempotency keys are remembered.
        var next = await Api.IngestAsync(_server.Admin, "api/v1/events", new { actor_id = "u", action = "after.restart" });
        Assert.Equal(15, next.GetProperty("seq").GetInt64());
        using (var duplicate = await _server.Admin.PostAsJsonAsync("api/v1/events", new { actor_id = "u0", action = "before.restart", idempotency_key = "k0" }))
        {
            Assert.Equal(HttpStatusCode.OK, duplicate.StatusCode);
            Assert.Equal(before[0], (await Api.JsonAsync(duplicate)).GetProperty("id").GetString());
        }

        using (var batch = await _server.Admin.PostAsJsonAsync("api/v1/events/batch", new { events = Enumerable.Range(0, 4).Select(i => new { actor_id = "u", action = "after.restart" }) }))
        {
            var seqs = Api.Data(await Api.JsonAsync(batch)).Select(d => d.GetProperty("event").GetProperty("seq").GetInt64());
            Assert.Equal([16L, 17L, 18L, 19L], seqs);
        }

        // Keys: the ledger key works, the revoked one stays revoked.
        using (var client = _server.Client(ledgerKey))
        {
            Assert.Equal(1, (await Api.IngestAsync(client, "api/v1/events", new { actor_id = "lk", action = "after.restart" })).GetProperty("seq").GetInt64());
        }

        using (var client = _server.Client(revokedKey))
        {
            await Api.AssertProblemAsync(client.GetAsync("api/v1/events"), HttpStatusCode.Unauthorized, "unauthenticated");
        }

        // The bootstrap key is not re-issued: no new api_key.created by 'stele' in _system.
        await _server.WaitForIndexesAsync("_system");
        var created = Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/_system/events?action=api_key.created&actor_id=stele"));
        Assert.Single(created);

        // The chain and the tree continue: verify is clean over the whole ledger, across the restart.
        await _server.WaitForCheckpointAsync(_server.Admin, "api/v1/", 20);
        var report = await Api.GetJsonAsync(_server.Admin, "api/v1/verify");
        Assert.True(report.GetProperty("valid").GetBoolean(), report.ToString());
        Assert.Equal(20, report.GetProperty("events_checked").GetInt64());
        var kept = await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/kept/verify");
        Assert.True(kept.GetProperty("valid").GetBoolean(), kept.ToString());
        var system = await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/_system/verify");
        Assert.True(system.GetProperty("valid").GetBoolean(), system.ToString());

        var chainBefore = (await Api.GetJsonAsync(_server.Admin, $"api/v1/events/{before[^1]}")).GetProperty("chain_hash").GetString();
        var chainAfter = Convert.FromHexString(next.GetProperty("chain_hash").GetString()!);
        var expected = System.Security.Cryptography.SHA256.HashData([.. Convert.FromHexString(chainBefore!), .. Convert.FromHexString(next.GetProperty("leaf_hash").GetString()!)]);
        Assert.Equal(expected, chainAfter);
    }
}

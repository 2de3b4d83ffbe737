using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Stele.Core.Checkpoints;
using Stele.Core.Merkle;
using Stele.Core.Notes;

namespace Stele.Server.Tests;

public sealed class IngestAndReadTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task An_ingested_event_reads_back_with_its_integrity_data()
    {
        using var response = await _server.Admin.PostAsync("api/v1/events", TestServer.Json(
            """
            {"actor_id":"user_42","actor_name":"Ada Lovelace","action":"document.deleted","resource":"document",
             "resource_id":"doc_7","tenant_id":"t_1","metadata":{"reason":"cleanup","size":3},
             "targets":[{"type":"folder","id":"f_1","name":"Reports"}]}
            """));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = JsonDocument.Parse(body).RootElement;
        Assert.StartsWith("evt_", created.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, created.GetProperty("seq").GetInt64());
        Assert.Equal(64, created.GetProperty("leaf_hash").GetString()!.Length);

        var id = created.GetProperty("id").GetString();
        var read = JsonDocument.Parse(await _server.Admin.GetStringAsync($"api/v1/events/{id}")).RootElement;
        Assert.Equal("Ada Lovelace", read.GetProperty("actor_name").GetString());
        Assert.Equal("cleanup", read.GetProperty("metadata").GetProperty("reason").GetString());
        Assert.Equal("Reports", read.GetProperty("targets")[0].GetProperty("name").GetString());
        Assert.Equal(created.GetProperty("chain_hash").GetString(), read.GetProperty("chain_hash").GetString());
    }

    [Fact]
    public async Task A_field_name_written_with_escapes_is_the_field_and_free_text_keeps_tabs_and_line_breaks()
    {
        // "actor\u005fname" is "actor_name"; JSON allows any character of a name to be escaped.
        using var response = await Api.PostRawAsync(_server.Admin, "api/v1/events",
            """{"actor_id":"user_1","\u0061ction":"document.viewed","actor\u005fname":"Ada\tLovelace\r\nCountess"}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = (await Api.JsonAsync(response)).GetProperty("id").GetString();
        var read = await Api.GetJsonAsync(_server.Admin, $"api/v1/events/{id}");
        Assert.Equal("document.viewed", read.GetProperty("action").GetString());
        Assert.Equal("Ada\tLovelace\r\nCountess", read.GetProperty("actor_name").GetString());
    }

    [Fact]
    public async Task An_inclusion_proof_verifies_against_the_signed_checkpoint()
    {
        string? id = null;
        for (var i = 0; i < 300; i++)
        {
            using var r = await _server.Admin.PostAsJsonAsync("api/v1/events", new { actor_id = $"u{i}", action = "user.login" });
            r.EnsureSuccessStatusCode();
            if (i == 137)
            {
                id = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
            }
        }

        await _server.WaitForCheckpointAsync(_server.Admin, "api/v1/", 300);
        var proof = JsonDocument.Parse(await _server.Admin.GetStringAsync($"api/v1/events/{id}/proof")).RootElement;
        var verifierKey = NoteVerifierKey.Parse((await _server.Client().GetStringAsync("api/v1/public-key")).Trim());
        var note = proof.GetProperty("checkpoint").GetProperty("signed_note").GetString()!;
        var checkpoint = new CheckpointVerifier(verifierKey).Open(System.Text.Encoding.UTF8.GetBytes(note), "test.stele/default");
        var leaf = Convert.FromBase64String(proof.GetProperty("leaf").GetString()!);
        var inclusion = proof.GetProperty("inclusion_proof");
        var hashes = inclusion.GetProperty("hashes").EnumerateArray().Select(h => Convert.FromHexString(h.GetString()!)).ToList();

        var check = MerkleProofs.VerifyInclusion(137, checkpoint.Size, MerkleHash.Leaf(leaf), hashes, checkpoint.RootHash);
        Assert.True(check.IsValid, check.ToString());
    }

    [Fact]
    public async Task Verify_reports_a_clean_ledger()
    {
        for (var i = 0; i < 20; i++)
        {
            using var r = await _server.Admin.PostAsJsonAsync("api/v1/events", new { actor_id = "u", action = "a.b" });
            r.EnsureSuccessStatusCode();
        }

        await _server.WaitForCheckpointAsync(_server.Admin, "api/v1/", 20);
        var report = JsonDocument.Parse(await _server.Admin.GetStringAsync("api/v1/verify")).RootElement;
        Assert.True(report.GetProperty("valid").GetBoolean(), report.ToString());
        Assert.Equal(20, report.GetProperty("events_checked").GetInt64());
    }
}

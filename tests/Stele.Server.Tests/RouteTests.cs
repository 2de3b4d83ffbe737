using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Stele.Core.Checkpoints;
using Stele.Core.Merkle;
using Stele.Core.Notes;
using Stele.Core.Tiles;

namespace Stele.Server.Tests;

/// <summary>Every route of the v1 API, the tlog and the operations endpoints, through real HTTP.</summary>
public sealed class RouteTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    [Fact]
    public async Task Posting_an_event_answers_201_with_the_server_added_fields()
    {
        using var client = _server.Client(_server.AdminKey);
        client.DefaultRequestHeaders.UserAgent.ParseAdd("route-tests/1.0");
        using var response = await client.PostAsJsonAsync("api/v1/events", new { actor_id = "u1", action = "route.posted", outcome = "failure", version = 2 });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var e = await Api.JsonAsync(response);
        Assert.Matches("^evt_[0-9A-HJKMNP-TV-Z]{26}$", e.GetProperty("id").GetString());
        Assert.Equal("default", e.GetProperty("ledger").GetString());
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$", e.GetProperty("received_at").GetString());
        Assert.Equal("127.0.0.1", e.GetProperty("ip_address").GetString());
        Assert.Equal("route-tests/1.0", e.GetProperty("user_agent").GetString());
        Assert.Equal("failure", e.GetProperty("outcome").GetString());
        Assert.Equal(2, e.GetProperty("version").GetInt32());
        Assert.Equal(JsonValueKind.Null, e.GetProperty("ip_country").ValueKind);
        Assert.Matches("^[0-9a-f]{64}$", e.GetProperty("chain_hash").GetString());
        Assert.Matches("^[0-9a-f]{64}$", e.GetProperty("payload_digest").GetString());

        var read = await Api.GetJsonAsync(_server.Admin, $"api/v1/events/{e.GetProperty("id").GetString()}");
        Assert.Equal(e.GetProperty("leaf_hash").GetString(), read.GetProperty("leaf_hash").GetString());
        Assert.False(read.TryGetProperty("duplicate", out _));
        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/events/evt_00000000000000000000000000"), HttpStatusCode.NotFound, "not_found");
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"api/v1/events/{new string('x', 300)}"), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task A_batch_answers_per_event_results_and_a_summary_and_one_bad_event_blocks_nothing()
    {
        var size = await Api.LedgerSizeAsync(_server);
        using var response = await Api.PostRawAsync(_server.Admin, "api/v1/events/batch", """
            {"events":[
              {"actor_id":"b1","action":"batch.ok"},
              {"actor_id":"b2","action":"not an action"},
              {"actor_id":"b3"},
              "not an object",
              {"actor_id":"b5","action":"batch.ok","metadata":{"n":5}}
            ]}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await Api.JsonAsync(response);
        var data = Api.Data(result);
        Assert.Equal(["created", "rejected", "rejected", "rejected", "created"], data.Select(d => d.GetProperty("status").GetString()));
        var errors = data[1].GetProperty("error").GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList();
        Assert.Contains("events[1].action", errors);
        Assert.Contains("events[2].action", data[2].GetProperty("error").GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()));
        Assert.Equal(data[0].GetProperty("event").GetProperty("seq").GetInt64() + 1, data[4].GetProperty("event").GetProperty("seq").GetInt64());
        Assert.Equal(2, result.GetProperty("summary").GetProperty("created").GetInt32());
        Assert.Equal(0, result.GetProperty("summary").GetProperty("duplicates").GetInt32());
        Assert.Equal(3, result.GetProperty("summary").GetProperty("rejected").GetInt32());
        Assert.Equal(size + 2, await Api.LedgerSizeAsync(_server));
    }

    [Fact]
    public async Task A_session_reads_oldest_first_and_pages_without_gaps()
    {
        for (var i = 0; i < 12; i++)
        {
            await Api.IngestAsync(_server.Admin, "api/v1/events", new { actor_id = "s", action = "step.taken", session_id = "sess-a", metadata = new { step = i } });
            await Api.IngestAsync(_server.Admin, "api/v1/events", new { actor_id = "s", action = "step.taken", session_id = "sess-b" });
        }

        await _server.WaitForIndexesAsync();

        var steps = new List<int>();
        var seqs = new List<long>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Api.GetJsonAsync(_server.Admin, "api/v1/sessions/sess-a?limit=5" + (cursor is null ? string.Empty : $"&cursor={cursor}"));
            var data = Api.Data(page);
            Assert.All(data, e => Assert.Equal("sess-a", e.GetProperty("session_id").GetString()));
            steps.AddRange(data.Select(e => e.GetProperty("metadata").GetProperty("step").GetInt32()));
            seqs.AddRange(data.Select(e => e.GetProperty("seq").GetInt64()));
            var pagination = page.GetProperty("pagination");
            cursor = pagination.GetProperty("has_more").GetBoolean() ? pagination.GetProperty("next_cursor").GetString() : null;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(0, 12), steps);
        Assert.Equal(seqs.Order(), seqs);
        Assert.Empty(Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/sessions/no-such-session")));
        Assert.Equal(12, Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/default/sessions/sess-b")).Count);
        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/sessions/sess-a?limit=0"), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/sessions/sess-a?cursor=bad!"), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/sessions/sess-a?action=x"), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"api/v1/sessions/{new string('s', 257)}"), HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task Checkpoints_proofs_consistency_and_verify_all_check_out_against_the_public_key()
    {
        await _server.CreateLedgerAsync("proofs");
        const string prefix = "api/v1/ledgers/proofs/";
        var ids = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            ids.Add((await Api.IngestAsync(_server.Admin, prefix + "events", new { actor_id = $"p{i}", action = "proof.made" })).GetProperty("id").GetString()!);
        }

        var first = await _server.WaitForCheckpointAsync(_server.Admin, prefix, 10);
        var size1 = first.GetProperty("tree_size").GetInt64();
        using (var batch = await _server.Admin.PostAsJsonAsync(prefix + "events/batch", new { events = Enumerable.Range(0, 290).Select(i => new { actor_id = $"q{i}", action = "proof.made" }) }))
        {
            Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        }

        var second = await _server.WaitForCheckpointAsync(_server.Admin, prefix, 300);
        var size2 = second.GetProperty("tree_size").GetInt64();
        Assert.True(size2 > size1);

        // The public key needs no API key and opens both signed checkpoints.
        using var anonymous = _server.Client();
        var keyText = (await anonymous.GetStringAsync("api/v1/public-key")).Trim();
        Assert.Equal(_server.Host.VerifierKey, keyText);
        var verifier = new CheckpointVerifier(NoteVerifierKey.Parse(keyText));
        var checkpoint1 = verifier.Open(Encoding.UTF8.GetBytes(first.GetProperty("signed_note").GetString()!), "test.stele/proofs");
        var checkpoint2 = verifier.Open(Encoding.UTF8.GetBytes(second.GetProperty("signed_note").GetString()!), "test.stele/proofs");
        Assert.Equal(size1, checkpoint1.Size);
        Assert.Equal(first.GetProperty("root_hash").GetString(), Convert.ToHexStringLower(checkpoint1.RootHash));

        // The tlog checkpoint is the same signed note.
        var tlogCheckpoint = await _server.Admin.GetStringAsync("tlog/proofs/checkpoint");
        Assert.Equal(CheckpointSize(tlogCheckpoint), verifier.Open(Encoding.UTF8.GetBytes(tlogCheckpoint), "test.stele/proofs").Size);

        // Consistency between the two checkpoints, verified with the checkpoints' own roots.
        var consistency = await Api.GetJsonAsync(_server.Admin, $"{prefix}proofs/consistency?from={size1}&to={size2}");
        var hashes = consistency.GetProperty("hashes").EnumerateArray().Select(h => Convert.FromHexString(h.GetString()!)).ToList();
        var check = MerkleProofs.VerifyConsistency(size1, size2, checkpoint1.RootHash, checkpoint2.RootHash, hashes);
        Assert.True(check.IsValid, check.ToString());
        Assert.Equal(Convert.ToHexStringLower(checkpoint1.RootHash), consistency.GetProperty("from_root").GetString());
        Assert.Equal(Convert.ToHexStringLower(checkpoint2.RootHash), consistency.GetProperty("to_root").GetString());
        var tampered = hashes.Select(h => (byte[])h.Clone()).ToList();
        tampered[0][0] ^= 1;
        Assert.False(MerkleProofs.VerifyConsistency(size1, size2, checkpoint1.RootHash, checkpoint2.RootHash, tampered).IsValid);
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"{prefix}proofs/consistency?from={size2}&to={size1}"), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"{prefix}proofs/consistency?from=1&to={size2 + 1000}"), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"{prefix}proofs/consistency?from=1"), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"{prefix}proofs/consistency?from=0&to=1"), HttpStatusCode.BadRequest, "validation_failed");

        // Inclusion at the latest checkpoint and at the older one (?tree_size=).
        foreach (var (treeSize, root) in new[] { ((long?)null, checkpoint2.RootHash), (size1, checkpoint1.RootHash) })
        {
            var proof = await Api.GetJsonAsync(_server.Admin, $"{prefix}events/{ids[7]}/proof" + (treeSize is null ? string.Empty : $"?tree_size={treeSize}"));
            var inclusion = proof.GetProperty("inclusion_proof");
            Assert.Equal(treeSize ?? size2, inclusion.GetProperty("tree_size").GetInt64());
            var leaf = Convert.FromBase64String(proof.GetProperty("leaf").GetString()!);
            var path = inclusion.GetProperty("hashes").EnumerateArray().Select(h => Convert.FromHexString(h.GetString()!)).ToList();
            var ok = MerkleProofs.VerifyInclusion(7, inclusion.GetProperty("tree_size").GetInt64(), MerkleHash.Leaf(leaf), path, root);
            Assert.True(ok.IsValid, ok.ToString());
        }

        // A size no checkpoint has (beyond the ledger, so none can be signed for it while the test runs).
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"{prefix}events/{ids[7]}/proof?tree_size={size2 * 1000}"), HttpStatusCode.NotFound, "not_found");
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"{prefix}events/{ids[7]}/proof?tree_size=0"), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"{prefix}events/evt_00000000000000000000000000/proof"), HttpStatusCode.NotFound, "not_found");

        // Verify, whole and a range (to is exclusive).
        var whole = await Api.GetJsonAsync(_server.Admin, $"{prefix}verify");
        Assert.True(whole.GetProperty("valid").GetBoolean(), whole.ToString());
        Assert.Equal(300, whole.GetProperty("events_checked").GetInt64());
        Assert.True(whole.GetProperty("checkpoints_checked").GetInt64() >= 2);
        var range = await Api.GetJsonAsync(_server.Admin, $"{prefix}verify?from=5&to=260");
        Assert.True(range.GetProperty("valid").GetBoolean(), range.ToString());
        Assert.Equal(255, range.GetProperty("events_checked").GetInt64());
        Assert.Equal(5, range.GetProperty("from").GetInt64());
        Assert.Equal(260, range.GetProperty("to").GetInt64());
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"{prefix}verify?from=9&to=3"), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"{prefix}verify?from=-1"), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"{prefix}verify?start=1"), HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task The_tlog_serves_tiles_and_entry_bundles_that_match_the_events()
    {
        await _server.CreateLedgerAsync("tiles");
        using (var batch = await _server.Admin.PostAsJsonAsync("api/v1/ledgers/tiles/events/batch", new { events = Enumerable.Range(0, 260).Select(i => new { actor_id = $"t{i}", action = "tile.made" }) }))
        {
            Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        }

        var events = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var page = await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/tiles/events?limit=1000" + (cursor is null ? string.Empty : $"&cursor={cursor}"));
            events.AddRange(Api.Data(page));
            cursor = page.GetProperty("pagination").GetProperty("next_cursor").GetString();
        }
        while (cursor is not null);

        var leafHashes = events.OrderBy(e => e.GetProperty("seq").GetInt64()).Select(e => Convert.FromHexString(e.GetProperty("leaf_hash").GetString()!)).ToList();
        Assert.Equal(260, leafHashes.Count);

        // Level 0: a full tile of 256 hashes, then a partial one of 4.
        var full = await _server.Admin.GetByteArrayAsync("tlog/tiles/tile/0/000");
        Assert.Equal(leafHashes.Take(256).SelectMany(h => h), full);
        var partial = await _server.Admin.GetByteArrayAsync("tlog/tiles/tile/0/001.p/4");
        Assert.Equal(leafHashes.Skip(256).SelectMany(h => h), partial);

        // Level 1: one hash, the root of the first 256 leaves.
        var level1 = await _server.Admin.GetByteArrayAsync("tlog/tiles/tile/1/000.p/1");
        Assert.Equal(MerkleProofs.Root(256, new ListSource(leafHashes)), level1);

        // Entry bundles hold the leaf bytes: each hashes to its leaf hash.
        var bundle = EntryBundle.Decode(await _server.Admin.GetByteArrayAsync("tlog/tiles/tile/entries/001.p/4"), 4);
        Assert.Equal(leafHashes.Skip(256), bundle.Select(entry => MerkleHash.Leaf(entry)));
        Assert.Equal(256, EntryBundle.Decode(await _server.Admin.GetByteArrayAsync("tlog/tiles/tile/entries/000"), 256).Count);

        foreach (var missing in new[] { "tile/0/001.p/5", "tile/0/002", "tile/1/000", "tile/entries/001", "tile/0/1", "tile/0/000.p/256", "tile/x/000", "nothing", "tile/0/000.p/0" })
        {
            await Api.AssertProblemAsync(_server.Admin.GetAsync($"tlog/tiles/{missing}"), HttpStatusCode.NotFound, "not_found");
        }

        await Api.AssertProblemAsync(_server.Admin.GetAsync("tlog/no-such-ledger/checkpoint"), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Keys_show_their_secret_once_and_revoke_once()
    {
        using var created = await _server.Admin.PostAsJsonAsync("api/v1/keys", new { name = "ci pipeline", ledger = "default", permissions = new[] { "ingest", "read", "ingest" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = await Api.JsonAsync(created);
        var secret = key.GetProperty("key").GetString()!;
        var id = key.GetProperty("id").GetString()!;
        Assert.Matches("^stele_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$", secret);
        Assert.Equal(Api.KeyId(secret), id);
        Assert.Equal(["ingest", "read"], key.GetProperty("permissions").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(JsonValueKind.Null, key.GetProperty("revoked_at").ValueKind);

        var listed = Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/keys"));
        Assert.Contains(listed, k => k.GetProperty("id").GetString() == id);
        Assert.All(listed, k => Assert.False(k.TryGetProperty("key", out _)));
        var listText = await _server.Admin.GetStringAsync("api/v1/keys");
        Assert.DoesNotContain(secret, listText, StringComparison.Ordinal);
        Assert.DoesNotContain(_server.AdminKey, listText, StringComparison.Ordinal);
        var single = await Api.GetJsonAsync(_server.Admin, $"api/v1/keys/{id}");
        Assert.False(single.TryGetProperty("key", out _));
        Assert.Equal("ci pipeline", single.GetProperty("name").GetString());

        using var client = _server.Client(secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("api/v1/events")).StatusCode);

        using (var revoke = await _server.Admin.DeleteAsync($"api/v1/keys/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
            Assert.Equal(JsonValueKind.String, (await Api.JsonAsync(revoke)).GetProperty("revoked_at").ValueKind);
        }

        await Api.AssertProblemAsync(_server.Admin.DeleteAsync($"api/v1/keys/{id}"), HttpStatusCode.Conflict, "conflict");
        await Api.AssertProblemAsync(client.GetAsync("api/v1/events"), HttpStatusCode.Unauthorized, "unauthenticated");
        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/keys/key_nothing"), HttpStatusCode.NotFound, "not_found");
        await Api.AssertProblemAsync(_server.Admin.DeleteAsync("api/v1/keys/key_nothing"), HttpStatusCode.NotFound, "not_found");
        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/keys?ledger=default"), HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task Ledgers_are_created_once_listed_and_read()
    {
        using (var created = await _server.Admin.PostAsJsonAsync("api/v1/ledgers", new { name = "customer-42", description = "Customer 42" }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var ledger = await Api.JsonAsync(created);
            Assert.Equal("customer-42", ledger.GetProperty("name").GetString());
            Assert.Equal(0, ledger.GetProperty("size").GetInt64());
        }

        await Api.AssertProblemAsync(_server.Admin.PostAsJsonAsync("api/v1/ledgers", new { name = "customer-42" }), HttpStatusCode.Conflict, "conflict");
        await Api.AssertProblemAsync(_server.Admin.PostAsJsonAsync("api/v1/ledgers", new { name = "default" }), HttpStatusCode.Conflict, "conflict");
        foreach (var bad in new[] { "Customer", "cust_42", "-x", "", new string('a', 64), "a b", "ü" })
        {
            await Api.AssertProblemAsync(_server.Admin.PostAsJsonAsync("api/v1/ledgers", new { name = bad }), HttpStatusCode.BadRequest, "validation_failed");
        }

        Assert.Equal(HttpStatusCode.Created, (await _server.Admin.PostAsJsonAsync("api/v1/ledgers", new { name = new string('a', 63) })).StatusCode);
        var names = Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers")).Select(l => l.GetProperty("name").GetString()).ToList();
        Assert.Contains("customer-42", names);
        Assert.Contains("default", names);
        Assert.Contains("_system", names);

        await Api.IngestAsync(_server.Admin, "api/v1/ledgers/customer-42/events", new { actor_id = "u", action = "a.b" });
        var read = await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/customer-42");
        Assert.Equal(1, read.GetProperty("size").GetInt64());
        Assert.Equal("Customer 42", read.GetProperty("description").GetString());
        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/ledgers/customer-43"), HttpStatusCode.NotFound, "not_found");
        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/ledgers/customer-43/events"), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Both_route_forms_address_the_right_ledger()
    {
        await _server.CreateLedgerAsync("forms");
        using var ledgerKey = _server.Client(await _server.CreateKeyAsync("forms", "ingest", "read"));
        using var accountKey = _server.Client(await _server.CreateKeyAsync(null, "ingest", "read"));

        var viaLedgerKey = await Api.IngestAsync(ledgerKey, "api/v1/events", new { actor_id = "lk", action = "form.unprefixed" });
        Assert.Equal("forms", viaLedgerKey.GetProperty("ledger").GetString());
        var viaLedgerKeyPrefixed = await Api.IngestAsync(ledgerKey, "api/v1/ledgers/forms/events", new { actor_id = "lk", action = "form.prefixed" });
        Assert.Equal("forms", viaLedgerKeyPrefixed.GetProperty("ledger").GetString());
        var viaAccount = await Api.IngestAsync(accountKey, "api/v1/events", new { actor_id = "ak", action = "form.unprefixed" });
        Assert.Equal("default", viaAccount.GetProperty("ledger").GetString());
        var viaAccountPrefixed = await Api.IngestAsync(accountKey, "api/v1/ledgers/forms/events", new { actor_id = "ak", action = "form.prefixed" });
        Assert.Equal("forms", viaAccountPrefixed.GetProperty("ledger").GetString());
        await _server.WaitForIndexesAsync("forms", "default");

        Assert.Equal(3, Api.Data(await Api.GetJsonAsync(ledgerKey, "api/v1/events?action=form.*")).Count);
        Assert.Equal(3, Api.Data(await Api.GetJsonAsync(accountKey, "api/v1/ledgers/forms/events?action=form.*")).Count);
        Assert.Single(Api.Data(await Api.GetJsonAsync(accountKey, "api/v1/events?action=form.*")));

        // An event id of one ledger is not found through another.
        var id = viaLedgerKey.GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.OK, (await accountKey.GetAsync($"api/v1/ledgers/forms/events/{id}")).StatusCode);
        await Api.AssertProblemAsync(accountKey.GetAsync($"api/v1/events/{id}"), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Operations_routes_and_the_openapi_document_need_no_key()
    {
        using var anonymous = _server.Client();
        Assert.Equal("ok", (await anonymous.GetStringAsync("healthz")).Trim());
        Assert.Equal("ready", (await anonymous.GetStringAsync("readyz")).Trim());
        Assert.StartsWith("test.stele+", (await anonymous.GetStringAsync("api/v1/public-key")).Trim(), StringComparison.Ordinal);

        using var response = await anonymous.GetAsync("openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await Api.JsonAsync(response);
        Assert.StartsWith("3.", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var path in new[]
        {
            "/api/v1/events", "/api/v1/events/batch", "/api/v1/events/{id}", "/api/v1/sessions/{session_id}", "/api/v1/verify",
            "/api/v1/checkpoint", "/api/v1/events/{id}/proof", "/api/v1/proofs/consistency", "/api/v1/keys", "/api/v1/keys/{id}",
            "/api/v1/ledgers", "/api/v1/ledgers/{ledger}", "/api/v1/ledgers/{ledger}/events", "/api/v1/public-key", "/healthz", "/readyz",
        })
        {
            Assert.Contains(path, paths);
        }

        await Api.AssertProblemAsync(anonymous.GetAsync("openapi/v2.json"), HttpStatusCode.NotFound, "not_found");
    }

    private static long CheckpointSize(string note) => long.Parse(note.Split('\n')[1], System.Globalization.CultureInfo.InvariantCulture);

    private sealed class ListSource(List<byte[]> leaves) : IMerkleNodeSource
    {
        public byte[] GetNode(int level, long index) =>
            level == 0 ? leaves[(int)index] : MerkleHash.Node(GetNode(level - 1, 2 * index), GetNode(level - 1, (2 * index) + 1));
    }
}

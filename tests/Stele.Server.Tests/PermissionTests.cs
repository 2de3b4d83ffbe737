using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stele.Server.Tests;

/// <summary>Permissions (ingest, read, admin) and scopes (one ledger or the account), every combination.</summary>
public sealed class PermissionTests(PermissionTests.Fixture fixture) : IClassFixture<PermissionTests.Fixture>
{
    private readonly TestServer _server = fixture.Server;

    public sealed class Fixture : IAsyncLifetime
    {
        public TestServer Server { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Server = await TestServer.StartAsync();
            await Server.CreateLedgerAsync("alpha");
            await Server.CreateLedgerAsync("beta");
        }

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    public static TheoryData<string?, string> Keys => new()
    {
        { null, "ingest" }, { null, "read" }, { null, "admin" }, { null, "ingest,read" },
        { "alpha", "ingest" }, { "alpha", "read" }, { "alpha", "admin" }, { "alpha", "ingest,read" },
    };

    [Theory]
    [MemberData(nameof(Keys))]
    public async Task A_key_may_ingest_and_read_exactly_as_its_permissions_and_scope_allow(string? scope, string permissions)
    {
        var perms = permissions.Split(',');
        using var client = _server.Client(await _server.CreateKeyAsync(scope, perms));
        var canIngest = perms.Contains("ingest") || perms.Contains("admin");
        var canRead = perms.Contains("read") || perms.Contains("admin");

        // Its own ledger, in both route forms: a ledger key implies its ledger, an account key gets 'default'.
        var own = scope ?? "default";
        foreach (var prefix in new[] { "api/v1/", $"api/v1/ledgers/{own}/" })
        {
            var before = await Api.LedgerSizeAsync(_server, own);
            using (var ingest = await client.PostAsJsonAsync(prefix + "events", new { actor_id = "u", action = "perm.checked" }))
            {
                if (canIngest)
                {
                    Assert.Equal(HttpStatusCode.Created, ingest.StatusCode);
                    Assert.Equal(own, (await Api.JsonAsync(ingest)).GetProperty("ledger").GetString());
                }
                else
                {
                    await Api.AssertProblemAsync(ingest, HttpStatusCode.Forbidden, "forbidden");
                }
            }

            using (var batch = await client.PostAsJsonAsync(prefix + "events/batch", new { events = new[] { new { actor_id = "u", action = "perm.checked" } } }))
            {
                if (canIngest)
                {
                    Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
                }
                else
                {
                    await Api.AssertProblemAsync(batch, HttpStatusCode.Forbidden, "forbidden");
                }
            }

            Assert.Equal(before + (canIngest ? 2 : 0), await Api.LedgerSizeAsync(_server, own));

            foreach (var read in new[] { "events", "sessions/s1", "verify", "proofs/consistency?from=1&to=1" })
            {
                using var response = await client.GetAsync(prefix + read);
                if (canRead)
                {
                    Assert.True(response.StatusCode is not (HttpStatusCode.Forbidden or HttpStatusCode.NotFound or HttpStatusCode.Unauthorized), $"{read}: {(int)response.StatusCode}");
                }
                else
                {
                    await Api.AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
                }
            }
        }

        using (var tlog = await client.GetAsync($"tlog/{own}/tile/entries/000.p/1"))
        {
            if (canRead)
            {
                Assert.Equal(HttpStatusCode.OK, tlog.StatusCode);
            }
            else
            {
                await Api.AssertProblemAsync(tlog, HttpStatusCode.Forbidden, "forbidden");
            }
        }

        // Key administration needs 'admin'.
        using (var keys = await client.GetAsync("api/v1/keys"))
        {
            if (perms.Contains("admin"))
            {
                Assert.Equal(HttpStatusCode.OK, keys.StatusCode);
            }
            else
            {
                await Api.AssertProblemAsync(keys, HttpStatusCode.Forbidden, "forbidden");
            }
        }
    }

    [Theory]
    [InlineData("ingest")]
    [InlineData("read")]
    [InlineData("admin")]
    public async Task A_ledger_key_never_reaches_another_ledger_and_cannot_see_it(string permission)
    {
        using var client = _server.Client(await _server.CreateKeyAsync("alpha", permission));
        var betaSize = await Api.LedgerSizeAsync(_server, "beta");
        foreach (var ledger in new[] { "beta", "default", "_system", "no-such-ledger" })
        {
            var prefix = $"api/v1/ledgers/{ledger}/";
            await Api.AssertProblemAsync(client.PostAsJsonAsync(prefix + "events", new { actor_id = "u", action = "a.b" }), HttpStatusCode.NotFound, "not_found");
            await Api.AssertProblemAsync(client.PostAsJsonAsync(prefix + "events/batch", new { events = new[] { new { actor_id = "u", action = "a.b" } } }), HttpStatusCode.NotFound, "not_found");
            foreach (var read in new[] { "events", "events/evt_x", "events/evt_x/proof", "sessions/s", "verify", "checkpoint", "proofs/consistency?from=1&to=1" })
            {
                await Api.AssertProblemAsync(client.GetAsync(prefix + read), HttpStatusCode.NotFound, "not_found");
            }

            await Api.AssertProblemAsync(client.GetAsync($"tlog/{ledger}/checkpoint"), HttpStatusCode.NotFound, "not_found");
            await Api.AssertProblemAsync(client.GetAsync($"api/v1/ledgers/{ledger}"), HttpStatusCode.NotFound, "not_found");
        }

        var listed = Api.Data(await Api.GetJsonAsync(client, "api/v1/ledgers")).Select(l => l.GetProperty("name").GetString()).ToList();
        Assert.Equal(["alpha"], listed);
        Assert.Equal("alpha", (await Api.GetJsonAsync(client, "api/v1/ledgers/alpha")).GetProperty("name").GetString());
        Assert.Equal(betaSize, await Api.LedgerSizeAsync(_server, "beta"));
    }

    [Fact]
    public async Task A_ledger_admin_manages_keys_of_its_own_ledger_only()
    {
        var ledgerAdminKey = await _server.CreateKeyAsync("alpha", "admin");
        using var ledgerAdmin = _server.Client(ledgerAdminKey);

        // Creating: its own ledger, named or implied; never another ledger, never account-wide.
        using (var created = await ledgerAdmin.PostAsJsonAsync("api/v1/keys", new { name = "alpha reader", ledger = "alpha", permissions = new[] { "read" } }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        string impliedId;
        using (var implied = await ledgerAdmin.PostAsJsonAsync("api/v1/keys", new { name = "implied", permissions = new[] { "ingest" } }))
        {
            var key = await Api.JsonAsync(implied);
            Assert.Equal(HttpStatusCode.Created, implied.StatusCode);
            Assert.Equal("alpha", key.GetProperty("ledger").GetString());
            impliedId = key.GetProperty("id").GetString()!;
        }

        await Api.AssertProblemAsync(ledgerAdmin.PostAsJsonAsync("api/v1/keys", new { name = "x", ledger = "beta", permissions = new[] { "read" } }), HttpStatusCode.NotFound, "not_found");
        await Api.AssertProblemAsync(ledgerAdmin.PostAsJsonAsync("api/v1/keys", new { name = "x", ledger = "_system", permissions = new[] { "read" } }), HttpStatusCode.NotFound, "not_found");

        // Listing: only keys of its ledger.
        var listed = Api.Data(await Api.GetJsonAsync(ledgerAdmin, "api/v1/keys"));
        Assert.NotEmpty(listed);
        Assert.All(listed, k => Assert.Equal("alpha", k.GetProperty("ledger").GetString()));

        // Reading and revoking: others' keys do not exist for it.
        var betaKey = Api.KeyId(await _server.CreateKeyAsync("beta", "read"));
        var accountKey = Api.KeyId(await _server.CreateKeyAsync(null, "read"));
        foreach (var other in new[] { betaKey, accountKey, Api.KeyId(_server.AdminKey) })
        {
            await Api.AssertProblemAsync(ledgerAdmin.GetAsync($"api/v1/keys/{other}"), HttpStatusCode.NotFound, "not_found");
            await Api.AssertProblemAsync(ledgerAdmin.DeleteAsync($"api/v1/keys/{other}"), HttpStatusCode.NotFound, "not_found");
            Assert.Equal(JsonValueKind.Null, (await Api.GetJsonAsync(_server.Admin, $"api/v1/keys/{other}")).GetProperty("revoked_at").ValueKind);
        }

        using (var revoke = await ledgerAdmin.DeleteAsync($"api/v1/keys/{impliedId}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        // Only account-wide admins create ledgers.
        await Api.AssertProblemAsync(ledgerAdmin.PostAsJsonAsync("api/v1/ledgers", new { name = "gamma" }), HttpStatusCode.Forbidden, "forbidden");
        foreach (var perms in new[] { new[] { "read" }, ["ingest"], ["ingest", "read"] })
        {
            using var client = _server.Client(await _server.CreateKeyAsync(null, perms));
            await Api.AssertProblemAsync(client.PostAsJsonAsync("api/v1/ledgers", new { name = "gamma" }), HttpStatusCode.Forbidden, "forbidden");
            await Api.AssertProblemAsync(client.PostAsJsonAsync("api/v1/keys", new { name = "x", permissions = new[] { "read" } }), HttpStatusCode.Forbidden, "forbidden");
        }

        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/ledgers/gamma"), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task The_system_ledger_is_readable_by_account_admins_only_and_never_writable()
    {
        using var accountAdmin = _server.Client(await _server.CreateKeyAsync(null, "admin"));
        var before = await Api.LedgerSizeAsync(_server, "_system");
        foreach (var admin in new[] { _server.Admin, accountAdmin })
        {
            Assert.NotEmpty(Api.Data(await Api.GetJsonAsync(admin, "api/v1/ledgers/_system/events")));
            Assert.True((await Api.GetJsonAsync(admin, "api/v1/ledgers/_system/verify")).GetProperty("valid").GetBoolean());
            Assert.Contains(Api.Data(await Api.GetJsonAsync(admin, "api/v1/ledgers")), l => l.GetProperty("name").GetString() == "_system");
            await Api.AssertProblemAsync(admin.PostAsJsonAsync("api/v1/ledgers/_system/events", new { actor_id = "u", action = "a.b" }), HttpStatusCode.Forbidden, "forbidden");
            await Api.AssertProblemAsync(admin.PostAsJsonAsync("api/v1/ledgers/_system/events/batch", new { events = new[] { new { actor_id = "u", action = "a.b" } } }), HttpStatusCode.Forbidden, "forbidden");
        }

        // Account keys without admin do not see it at all.
        foreach (var perms in new[] { new[] { "read" }, ["ingest"], ["ingest", "read"] })
        {
            using var client = _server.Client(await _server.CreateKeyAsync(null, perms));
            await Api.AssertProblemAsync(client.GetAsync("api/v1/ledgers/_system/events"), perms.Contains("read") ? HttpStatusCode.NotFound : HttpStatusCode.Forbidden, perms.Contains("read") ? "not_found" : "forbidden");
            // A key without 'ingest' is refused for that before any ledger is looked at (as for every ledger name).
            var canIngest = perms.Contains("ingest");
            await Api.AssertProblemAsync(
                client.PostAsJsonAsync("api/v1/ledgers/_system/events", new { actor_id = "u", action = "a.b" }),
                canIngest ? HttpStatusCode.NotFound : HttpStatusCode.Forbidden,
                canIngest ? "not_found" : "forbidden");
            await Api.AssertProblemAsync(client.GetAsync("tlog/_system/checkpoint"), perms.Contains("read") ? HttpStatusCode.NotFound : HttpStatusCode.Forbidden, perms.Contains("read") ? "not_found" : "forbidden");
            await Api.AssertProblemAsync(client.GetAsync("api/v1/ledgers/_system"), HttpStatusCode.NotFound, "not_found");
            Assert.DoesNotContain(Api.Data(await Api.GetJsonAsync(client, "api/v1/ledgers")), l => l.GetProperty("name").GetString() == "_system");
        }

        // Nothing above was written there, except the creation of the three keys.
        Assert.Equal(before + 3, await Api.LedgerSizeAsync(_server, "_system"));
        await Api.AssertProblemAsync(_server.Admin.PostAsJsonAsync("api/v1/ledgers", new { name = "_system" }), HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task Every_admin_action_is_recorded_in_the_system_ledger_with_the_acting_key()
    {
        var bootstrapId = Api.KeyId(_server.AdminKey);
        var accountAdminSecret = await _server.CreateKeyAsync(null, "admin");
        using var accountAdmin = _server.Client(accountAdminSecret);
        var accountAdminId = Api.KeyId(accountAdminSecret);

        using (var created = await accountAdmin.PostAsJsonAsync("api/v1/ledgers", new { name = "audited", description = "for the audit test" }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var ledgerAdminSecret = await _server.CreateKeyAsync("audited", "admin");
        using var ledgerAdmin = _server.Client(ledgerAdminSecret);
        var ledgerAdminId = Api.KeyId(ledgerAdminSecret);
        string readerId;
        using (var reader = await ledgerAdmin.PostAsJsonAsync("api/v1/keys", new { name = "reader", permissions = new[] { "read" } }))
        {
            readerId = (await Api.JsonAsync(reader)).GetProperty("id").GetString()!;
        }

        using (var revoke = await ledgerAdmin.DeleteAsync($"api/v1/keys/{readerId}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        using (var revoke = await accountAdmin.DeleteAsync($"api/v1/keys/{ledgerAdminId}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        // A failed action (duplicate ledger) records nothing.
        await Api.AssertProblemAsync(accountAdmin.PostAsJsonAsync("api/v1/ledgers", new { name = "audited" }), HttpStatusCode.Conflict, "conflict");

        var events = Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/_system/events?limit=1000"));
        AssertRecorded(events, "api_key.created", accountAdminId, bootstrapId);
        AssertRecorded(events, "ledger.created", "audited", accountAdminId);
        AssertRecorded(events, "api_key.created", ledgerAdminId, bootstrapId);
        AssertRecorded(events, "api_key.created", readerId, ledgerAdminId);
        AssertRecorded(events, "api_key.revoked", readerId, ledgerAdminId);
        AssertRecorded(events, "api_key.revoked", ledgerAdminId, accountAdminId);
        Assert.Single(events, e => e.GetProperty("action").GetString() == "ledger.created" && e.GetProperty("resource_id").GetString() == "audited");

        // No secret is ever written to the log.
        var text = string.Join('\n', events.Select(e => e.GetRawText()));
        Assert.DoesNotContain(accountAdminSecret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(ledgerAdminSecret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(_server.AdminKey, text, StringComparison.Ordinal);

        static void AssertRecorded(List<JsonElement> events, string action, string resourceId, string actor)
        {
            var match = events.Where(e => e.GetProperty("action").GetString() == action && e.GetProperty("resource_id").GetString() == resourceId).ToList();
            var e = Assert.Single(match);
            Assert.Equal(actor, e.GetProperty("actor_id").GetString());
            Assert.Equal("api_key", e.GetProperty("actor_type").GetString());
        }
    }
}

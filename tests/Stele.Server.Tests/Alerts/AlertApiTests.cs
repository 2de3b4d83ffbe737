using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using static Stele.Server.Tests.Alerts.AlertTestServer;

namespace Stele.Server.Tests.Alerts;

/// <summary>The detection routes through real Kestrel: rules, destinations and alerts; bad input; permissions; the audit trail.</summary>
public sealed class AlertApiTests(AlertApiTests.Fixture fixture) : IClassFixture<AlertApiTests.Fixture>
{
    private readonly TestServer _server = fixture.Server;

    public sealed class Fixture : IAsyncLifetime
    {
        public TestServer Server { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Server = await AlertTestServer.StartAsync(new() { ["Alerts:RuleQuotaPerLedger"] = "6" });
            await Server.CreateLedgerAsync("alpha");
            await Server.CreateLedgerAsync("beta");
        }

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    private async Task<int> RuleCountAsync(string ledger) =>
        Api.Data(await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/{ledger}/alert-rules")).Count;

    [Fact]
    public async Task A_rule_is_created_read_changed_disabled_and_deleted_and_each_change_is_audited()
    {
        var hook = await CreateAsync(_server.Admin, "api/v1/ledgers/alpha/alert-destinations", new { type = "webhook", name = "SIEM", url = "https://siem.example.com/hooks/stele" });
        var created = await CreateAsync(_server.Admin, "api/v1/ledgers/alpha/alert-rules", new
        {
            type = "high_volume_destructive",
            name = "Mass deletion",
            parameters = new { threshold = 25, window_seconds = 120, group_by = "tenant" },
            destinations = new[] { hook.GetProperty("id").GetString() },
        });
        var id = created.GetProperty("id").GetString()!;
        Assert.StartsWith("rul_", id, StringComparison.Ordinal);
        Assert.Equal("alpha", created.GetProperty("ledger").GetString());
        Assert.Equal(25, created.GetProperty("parameters").GetProperty("threshold").GetInt32());
        Assert.Equal("*.deleted", created.GetProperty("parameters").GetProperty("actions")[0].GetString());
        Assert.True(created.GetProperty("enabled").GetBoolean());

        var read = await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/alpha/alert-rules/{id}");
        Assert.Equal("Mass deletion", read.GetProperty("name").GetString());

        using (var patch = await _server.Admin.PatchAsJsonAsync($"api/v1/ledgers/alpha/alert-rules/{id}", new { name = "Mass deletion (tenant)", parameters = new { threshold = 50 } }))
        {
            var body = await Api.JsonAsync(patch);
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
            Assert.Equal(50, body.GetProperty("parameters").GetProperty("threshold").GetInt32());
            Assert.Equal("actor", body.GetProperty("parameters").GetProperty("group_by").GetString()); // parameters are replaced as a whole
        }

        using (var disable = await _server.Admin.PostAsync($"api/v1/ledgers/alpha/alert-rules/{id}/disable", null))
        {
            Assert.False((await Api.JsonAsync(disable)).GetProperty("enabled").GetBoolean());
        }

        using (var delete = await _server.Admin.DeleteAsync($"api/v1/ledgers/alpha/alert-rules/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        await Api.AssertProblemAsync(_server.Admin.GetAsync($"api/v1/ledgers/alpha/alert-rules/{id}"), HttpStatusCode.NotFound, "not_found");

        await _server.WaitForIndexesAsync("_system");
        var audit = Api.Data(await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/_system/events?resource_id={id}&limit=20"))
            .Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal(["alert_rule.deleted", "alert_rule.disabled", "alert_rule.updated", "alert_rule.created"], audit);
        var destinationAudit = Api.Data(await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/_system/events?resource_id={hook.GetProperty("id").GetString()}"));
        Assert.Equal("alert_destination.created", Assert.Single(destinationAudit).GetProperty("action").GetString());
    }

    [Fact]
    public async Task Every_ledger_has_an_integrity_rule_that_cannot_be_disabled_or_deleted()
    {
        var rules = Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/beta/alert-rules"));
        var integrity = Assert.Single(rules, r => r.GetProperty("type").GetString() == "integrity_violation");
        var id = integrity.GetProperty("id").GetString()!;
        Assert.True(integrity.GetProperty("built_in").GetBoolean());

        await Api.AssertProblemAsync(_server.Admin.DeleteAsync($"api/v1/ledgers/beta/alert-rules/{id}"), HttpStatusCode.Conflict, "conflict");
        await Api.AssertProblemAsync(_server.Admin.PostAsync($"api/v1/ledgers/beta/alert-rules/{id}/disable", null), HttpStatusCode.Conflict, "conflict");
        await Api.AssertProblemAsync(_server.Admin.PatchAsJsonAsync($"api/v1/ledgers/beta/alert-rules/{id}", new { enabled = false }), HttpStatusCode.Conflict, "conflict");
        await Api.AssertProblemAsync(
            _server.Admin.PostAsJsonAsync("api/v1/ledgers/beta/alert-rules", new { type = "integrity_violation" }), HttpStatusCode.BadRequest, "validation_failed");

        // Its destinations can be set.
        var mail = await CreateAsync(_server.Admin, "api/v1/ledgers/beta/alert-destinations", new { type = "email", recipients = new[] { "soc@example.com" } });
        using var patch = await _server.Admin.PatchAsJsonAsync($"api/v1/ledgers/beta/alert-rules/{id}", new { destinations = new[] { mail.GetProperty("id").GetString() } });
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        Assert.Equal(mail.GetProperty("id").GetString(), (await Api.JsonAsync(patch)).GetProperty("destinations")[0].GetString());
        Assert.True((await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/beta/alert-rules/{id}")).GetProperty("enabled").GetBoolean());
    }

    public static TheoryData<string, string> BadRules => new()
    {
        { "{", "validation_failed" },
        { "[]", "validation_failed" },
        { """{"type":"new_country","colour":"red"}""", "validation_failed" },
        { """{"type":"no_such_rule"}""", "validation_failed" },
        { """{"type":42}""", "validation_failed" },
        { """{"name":"no type"}""", "validation_failed" },
        { """{"type":"repeated_action","parameters":{"actions":["a.b"],"threshold":-1}}""", "validation_failed" },
        { """{"type":"repeated_action","parameters":"threshold=3"}""", "validation_failed" },
        { """{"type":"off_hours","parameters":{"time_zone":"Europe/Atlantis"}}""", "validation_failed" },
        { """{"type":"new_country","enabled":"yes"}""", "validation_failed" },
        { """{"type":"new_country","destinations":["dst_does_not_exist"]}""", "validation_failed" },
        { """{"type":"new_country","destinations":"dst_1"}""", "validation_failed" },
        { """{"type":"new_country","name":"bell\u0007"}""", "validation_failed" },
        { """{"type":"new_country","name":"\ud800"}""", "validation_failed" },
        { """{"type":"new_country","name":"'; DROP TABLE alert_rules; --"}""", "created" },
    };

    [Theory]
    [MemberData(nameof(BadRules))]
    public async Task A_bad_rule_gets_a_problem_and_writes_nothing(string body, string expected)
    {
        var before = await RuleCountAsync("beta");
        using var response = await Api.PostRawAsync(_server.Admin, "api/v1/ledgers/beta/alert-rules", body);
        if (expected == "created")
        {
            // SQL metacharacters are just text.
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var id = (await Api.JsonAsync(response)).GetProperty("id").GetString();
            (await _server.Admin.DeleteAsync($"api/v1/ledgers/beta/alert-rules/{id}")).Dispose();
            return;
        }

        var problem = await Api.AssertProblemAsync(response, HttpStatusCode.BadRequest, expected);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        Assert.Equal(before, await RuleCountAsync("beta"));
    }

    [Fact]
    public async Task A_bad_rule_names_each_wrong_parameter()
    {
        using var response = await _server.Admin.PostAsJsonAsync("api/v1/ledgers/beta/alert-rules", new
        {
            type = "off_hours",
            parameters = new { time_zone = "Europe/Berlin", start = "25:00", holidays = new[] { "tomorrow" }, colour = "red" },
        });
        var problem = await Api.AssertProblemAsync(response, HttpStatusCode.BadRequest, "validation_failed");
        var fields = problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()).ToList();
        Assert.Contains("parameters.start", fields);
        Assert.Contains("parameters.holidays", fields);
        Assert.Contains("parameters.colour", fields);
    }

    [Fact]
    public async Task An_oversized_rule_body_is_refused()
    {
        var before = await RuleCountAsync("beta");
        var huge = "{\"type\":\"new_country\",\"name\":\"" + new string('x', 100_000) + "\"}";
        await Api.AssertProblemAsync(Api.PostRawAsync(_server.Admin, "api/v1/ledgers/beta/alert-rules", huge), HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        Assert.Equal(before, await RuleCountAsync("beta"));
    }

    [Fact]
    public async Task The_rule_quota_per_ledger_answers_quota_exceeded()
    {
        await _server.CreateLedgerAsync("quota");
        for (var i = 0; i < 6; i++)
        {
            await CreateAsync(_server.Admin, "api/v1/ledgers/quota/alert-rules", new { type = "new_country" });
        }

        using var response = await _server.Admin.PostAsJsonAsync("api/v1/ledgers/quota/alert-rules", new { type = "new_country" });
        await Api.AssertProblemAsync(response, HttpStatusCode.TooManyRequests, "quota_exceeded");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(7, await RuleCountAsync("quota")); // six plus the built-in integrity rule
    }

    [Fact]
    public async Task Keys_may_manage_and_read_detection_only_as_their_permissions_and_scope_allow()
    {
        var rule = await CreateAsync(_server.Admin, "api/v1/ledgers/alpha/alert-rules", new { type = "new_country" });
        var ruleId = rule.GetProperty("id").GetString();
        using var reader = _server.Client(await _server.CreateKeyAsync("alpha", "read"));
        using var ingester = _server.Client(await _server.CreateKeyAsync("alpha", "ingest"));
        using var alphaAdmin = _server.Client(await _server.CreateKeyAsync("alpha", "admin"));
        using var betaAdmin = _server.Client(await _server.CreateKeyAsync("beta", "admin"));

        // read: may list rules and alerts, may not change them or see destinations (they hold URLs and addresses).
        Assert.NotEmpty(Api.Data(await Api.GetJsonAsync(reader, "api/v1/alert-rules")));
        await Api.GetJsonAsync(reader, "api/v1/alerts");
        await Api.AssertProblemAsync(reader.PostAsJsonAsync("api/v1/alert-rules", new { type = "new_country" }), HttpStatusCode.Forbidden, "forbidden");
        await Api.AssertProblemAsync(reader.DeleteAsync($"api/v1/alert-rules/{ruleId}"), HttpStatusCode.Forbidden, "forbidden");
        await Api.AssertProblemAsync(reader.GetAsync("api/v1/alert-destinations"), HttpStatusCode.Forbidden, "forbidden");

        // ingest: nothing here.
        await Api.AssertProblemAsync(ingester.GetAsync("api/v1/alerts"), HttpStatusCode.Forbidden, "forbidden");
        await Api.AssertProblemAsync(ingester.GetAsync("api/v1/alert-rules"), HttpStatusCode.Forbidden, "forbidden");

        // A ledger admin manages its own ledger through the unprefixed routes.
        var own = await CreateAsync(alphaAdmin, "api/v1/alert-rules", new { type = "off_hours", parameters = new { time_zone = "UTC" } });
        Assert.Equal("alpha", own.GetProperty("ledger").GetString());

        // Another ledger's admin sees none of it: 404, never 403.
        await Api.AssertProblemAsync(betaAdmin.GetAsync($"api/v1/alert-rules/{ruleId}"), HttpStatusCode.NotFound, "not_found");
        await Api.AssertProblemAsync(betaAdmin.DeleteAsync($"api/v1/alert-rules/{ruleId}"), HttpStatusCode.NotFound, "not_found");
        await Api.AssertProblemAsync(betaAdmin.GetAsync("api/v1/ledgers/alpha/alert-rules"), HttpStatusCode.NotFound, "not_found");
        Assert.Equal(ruleId, (await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/alpha/alert-rules/{ruleId}")).GetProperty("id").GetString());

        // A rule cannot point at another ledger's destination.
        var betaHook = await CreateAsync(betaAdmin, "api/v1/alert-destinations", new { type = "webhook", url = "https://beta.example.com/hook" });
        await Api.AssertProblemAsync(
            alphaAdmin.PostAsJsonAsync("api/v1/alert-rules", new { type = "new_country", destinations = new[] { betaHook.GetProperty("id").GetString() } }),
            HttpStatusCode.BadRequest,
            "validation_failed");
        await Api.AssertProblemAsync(alphaAdmin.GetAsync($"api/v1/alert-destinations/{betaHook.GetProperty("id").GetString()}"), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task A_webhook_secret_is_shown_once_and_a_rotation_keeps_the_old_one_for_the_overlap()
    {
        var created = await CreateAsync(_server.Admin, "api/v1/ledgers/beta/alert-destinations", new { type = "webhook", url = "https://hooks.example.com/a?b=c" });
        var id = created.GetProperty("id").GetString();
        var secret = created.GetProperty("secret").GetString()!;
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Equal("https://hooks.example.com/a?b=c", created.GetProperty("url").GetString());

        var read = await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/beta/alert-destinations/{id}");
        Assert.False(read.TryGetProperty("secret", out _));
        Assert.DoesNotContain(secret, read.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret[6..], (await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/beta/alert-destinations")).ToString(), StringComparison.Ordinal);

        using var rotate = await _server.Admin.PostAsJsonAsync($"api/v1/ledgers/beta/alert-destinations/{id}/rotate-secret", new { overlap_seconds = 3600 });
        var rotated = await Api.JsonAsync(rotate);
        Assert.Equal(HttpStatusCode.OK, rotate.StatusCode);
        var next = rotated.GetProperty("secret").GetString()!;
        Assert.NotEqual(secret, next);
        var hints = rotated.GetProperty("secrets").EnumerateArray().ToList();
        Assert.Equal(2, hints.Count);
        Assert.Equal(JsonValueKind.Null, hints[0].GetProperty("expires_at").ValueKind);
        Assert.Equal(JsonValueKind.String, hints[1].GetProperty("expires_at").ValueKind);

        // The system ledger records the rotation, never the secret.
        await _server.WaitForIndexesAsync("_system");
        var audit = await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/_system/events?resource_id={id}&limit=10");
        Assert.Contains(Api.Data(audit), e => e.GetProperty("action").GetString() == "alert_destination.secret_rotated");
        Assert.DoesNotContain(next[6..], audit.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(secret[6..], audit.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string> BadDestinations => new()
    {
        """{"type":"webhook"}""",
        """{"type":"webhook","url":"ftp://example.com/x"}""",
        """{"type":"webhook","url":"/relative"}""",
        """{"type":"webhook","url":"https://user:pass@example.com/x"}""",
        """{"type":"webhook","url":"https://example.com/x","recipients":["a@example.com"]}""",
        """{"type":"email","recipients":[]}""",
        """{"type":"email","recipients":["not an address"]}""",
        """{"type":"email","recipients":["a@example.com\r\nBcc: x@evil.example"]}""",
        """{"type":"email","recipients":["a@example.com,b@example.com"]}""",
        """{"type":"pager","url":"https://example.com"}""",
        """{"type":"webhook","url":"https://example.com/x","secret":"whsec_mine"}""",
    };

    [Theory]
    [MemberData(nameof(BadDestinations))]
    public async Task A_bad_destination_gets_a_problem_and_writes_nothing(string body)
    {
        var before = Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/beta/alert-destinations")).Count;
        await Api.AssertProblemAsync(Api.PostRawAsync(_server.Admin, "api/v1/ledgers/beta/alert-destinations", body), HttpStatusCode.BadRequest, "validation_failed");
        Assert.Equal(before, Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/beta/alert-destinations")).Count);
    }

    [Fact]
    public async Task A_destination_in_use_cannot_be_deleted()
    {
        var hook = await CreateAsync(_server.Admin, "api/v1/ledgers/beta/alert-destinations", new { type = "webhook", url = "https://example.com/in-use" });
        var id = hook.GetProperty("id").GetString();
        var rule = await CreateAsync(_server.Admin, "api/v1/ledgers/beta/alert-rules", new { type = "new_country", destinations = new[] { id } });
        await Api.AssertProblemAsync(_server.Admin.DeleteAsync($"api/v1/ledgers/beta/alert-destinations/{id}"), HttpStatusCode.Conflict, "conflict");

        (await _server.Admin.DeleteAsync($"api/v1/ledgers/beta/alert-rules/{rule.GetProperty("id").GetString()}")).Dispose();
        using var delete = await _server.Admin.DeleteAsync($"api/v1/ledgers/beta/alert-destinations/{id}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"api/v1/ledgers/beta/alert-destinations/{id}"), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Alerts_are_raised_after_commit_and_listed_with_filters_and_cursors()
    {
        await _server.CreateLedgerAsync("noisy");
        var rule = await CreateAsync(_server.Admin, "api/v1/ledgers/noisy/alert-rules", new
        {
            type = "repeated_action",
            parameters = new { actions = new[] { "invoice.exported" }, threshold = 2, window_seconds = 3600, cooldown_seconds = 0 },
        });
        var ruleId = rule.GetProperty("id").GetString();
        var events = new List<object>();
        for (var i = 0; i < 20; i++)
        {
            events.Add(new { actor_id = i < 10 ? "u_1" : "u_2", action = "invoice.exported" });
        }

        await Api.IngestAsync(_server.Admin, "api/v1/ledgers/noisy/events/batch", new { events });
        var alerts = await WaitForAlertsAsync(_server.Admin, 10, "?limit=100", "api/v1/ledgers/noisy/");
        Assert.Equal(10, alerts.Count);
        Assert.All(alerts, a => Assert.Equal(ruleId, a.GetProperty("rule_id").GetString()));
        Assert.Equal("Actor u_2 performed invoice.exported 2 times within 1 hour", alerts[0].GetProperty("reason").GetString());

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/noisy/alerts?limit=3" + (cursor is null ? string.Empty : "&cursor=" + cursor));
            seen.AddRange(Api.Data(page).Select(a => a.GetProperty("id").GetString()!));
            var next = page.GetProperty("pagination").GetProperty("next_cursor");
            cursor = next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null);
        Assert.Equal(alerts.Select(a => a.GetProperty("id").GetString()), seen);

        Assert.Equal(5, Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/noisy/alerts?actor_id=u_1"))!.Count);
        Assert.Equal(10, Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/noisy/alerts?type=repeated_action&limit=50")).Count);
        Assert.Empty(Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/noisy/alerts?type=new_country")));
        var eventId = alerts[0].GetProperty("event_id").GetString();
        Assert.Single(Api.Data(await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/noisy/alerts?event_id={eventId}")));
        Assert.Empty(Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/noisy/alerts?from=2999-01-01T00:00:00Z")));

        // The event an alert names is a real event of the ledger.
        var evt = await Api.GetJsonAsync(_server.Admin, $"api/v1/ledgers/noisy/events/{eventId}");
        Assert.Equal("u_2", evt.GetProperty("actor_id").GetString());

        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/ledgers/noisy/alerts?cursor=garbage"), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/ledgers/noisy/alerts?type=nope"), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/ledgers/noisy/alerts?colour=red"), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/ledgers/noisy/alerts/alt_nope"), HttpStatusCode.NotFound, "not_found");
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"api/v1/ledgers/beta/alerts/{alerts[0].GetProperty("id").GetString()}"), HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task A_disabled_rule_raises_nothing_and_a_rule_sees_only_events_after_it_exists()
    {
        await _server.CreateLedgerAsync("quiet");
        await Api.IngestAsync(_server.Admin, "api/v1/ledgers/quiet/events/batch", new { events = Enumerable.Range(0, 5).Select(_ => new { actor_id = "u", action = "a.deleted" }) });
        var disabled = await CreateAsync(_server.Admin, "api/v1/ledgers/quiet/alert-rules", new { type = "high_volume_destructive", parameters = new { threshold = 2 }, enabled = false });
        await Task.Delay(500);
        await Api.IngestAsync(_server.Admin, "api/v1/ledgers/quiet/events/batch", new { events = Enumerable.Range(0, 5).Select(_ => new { actor_id = "u", action = "a.deleted" }) });

        // A live rule created now raises on the next events only.
        await Task.Delay(500);
        await CreateAsync(_server.Admin, "api/v1/ledgers/quiet/alert-rules", new { type = "high_volume_destructive", parameters = new { threshold = 3 } });
        await Task.Delay(500);
        Assert.Empty(Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/quiet/alerts")));
        await Api.IngestAsync(_server.Admin, "api/v1/ledgers/quiet/events/batch", new { events = Enumerable.Range(0, 3).Select(_ => new { actor_id = "u", action = "a.deleted" }) });
        var alerts = await WaitForAlertsAsync(_server.Admin, 1, prefix: "api/v1/ledgers/quiet/");
        Assert.DoesNotContain(alerts, a => a.GetProperty("rule_id").GetString() == disabled.GetProperty("id").GetString());
        Assert.Equal(12, alerts.Single().GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task Unknown_fields_and_type_changes_in_an_update_are_refused()
    {
        var rule = await CreateAsync(_server.Admin, "api/v1/ledgers/beta/alert-rules", new { type = "new_country" });
        var path = $"api/v1/ledgers/beta/alert-rules/{rule.GetProperty("id").GetString()}";
        await Api.AssertProblemAsync(_server.Admin.PatchAsync(path, new StringContent("""{"type":"off_hours"}""", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.PatchAsync(path, new StringContent("""{"severity":"high"}""", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "validation_failed");
        await Api.AssertProblemAsync(_server.Admin.PatchAsync(path, new StringContent("""{"parameters":{"actions":[""]}}""", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "validation_failed");
        var after = await Api.GetJsonAsync(_server.Admin, path);
        Assert.Equal("new_country", after.GetProperty("type").GetString());
        Assert.Equal("*", after.GetProperty("parameters").GetProperty("actions")[0].GetString());
        (await _server.Admin.DeleteAsync(path)).Dispose();
    }
}

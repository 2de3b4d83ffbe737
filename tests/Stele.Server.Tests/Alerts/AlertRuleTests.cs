using System.Text.Json;
using Stele.Server.Alerts;
using Stele.Server.Alerts.Rules;
using Stele.Server.Api;

namespace Stele.Server.Tests.Alerts;

/// <summary>Each rule type, positive and negative, on a controlled clock (see <see cref="RuleHarness"/>).</summary>
public sealed class AlertRuleTests
{
    private static IAlertRule Create(string type, object? parameters = null)
    {
        var errors = new List<FieldError>();
        JsonElement? element = parameters is null ? null : JsonSerializer.SerializeToElement(parameters);
        var rule = AlertRuleFactory.Create(type, element, errors);
        Assert.True(errors.Count == 0, string.Join("; ", errors.Select(e => $"{e.Field} {e.Message}")));
        return rule!;
    }

    private static List<FieldError> Errors(string type, string parametersJson)
    {
        var errors = new List<FieldError>();
        using var document = JsonDocument.Parse(parametersJson);
        Assert.Null(AlertRuleFactory.Create(type, document.RootElement.Clone(), errors));
        return errors;
    }

    [Fact]
    public void New_country_learns_from_the_first_event_and_alerts_on_a_new_country_once()
    {
        var h = new RuleHarness(Create("new_country"));
        Assert.Empty(h.Send(country: "GB"));
        Assert.Empty(h.Send(country: "GB"));
        Assert.Empty(h.Send(country: null));

        var raised = Assert.Single(h.Send(country: "DE"));
        Assert.Equal("Actor u_9 acted from DE for the first time", raised.Reason);
        Assert.Equal(new[] { "GB" }, (IEnumerable<string>)raised.Details["known_countries"]!);

        Assert.Empty(h.Send(country: "DE"));
        Assert.Empty(h.Send(country: "GB"));
        Assert.Single(h.Send(country: "FR"));
    }

    [Fact]
    public void New_country_keeps_actors_apart_and_honours_its_action_patterns()
    {
        var h = new RuleHarness(Create("new_country", new { actions = new[] { "user.login*" } }));
        Assert.Empty(h.Send(actor: "a", action: "user.login", country: "GB"));
        Assert.Empty(h.Send(actor: "b", action: "user.login", country: "DE"));

        // Not a watched action: neither teaches nor alerts.
        Assert.Empty(h.Send(actor: "a", action: "document.viewed", country: "US"));
        Assert.Single(h.Send(actor: "a", action: "user.login.mfa", country: "US"));
        Assert.Single(h.Send(actor: "b", action: "user.login", country: "GB"));
    }

    [Fact]
    public void A_burst_of_deletions_within_the_window_alerts_and_the_cooldown_holds_it_quiet()
    {
        var h = new RuleHarness(Create("high_volume_destructive", new { threshold = 5, window_seconds = 60, cooldown_seconds = 600 }));
        var raised = h.SendMany(5, action: "document.deleted", every: TimeSpan.FromSeconds(5));
        var alert = Assert.Single(raised);
        Assert.Equal("Actor u_9 performed 5 destructive actions within 1 minute (last: document.deleted)", alert.Reason);

        // Inside the cooldown, another burst raises nothing.
        Assert.Empty(h.SendMany(10, action: "user.removed", every: TimeSpan.FromSeconds(5)));

        // After the cooldown, a new burst alerts again.
        h.Now += TimeSpan.FromMinutes(10);
        Assert.Single(h.SendMany(5, action: "project.destroyed"));
    }

    [Fact]
    public void Deletions_spread_wider_than_the_window_and_other_actions_do_not_alert()
    {
        var h = new RuleHarness(Create("high_volume_destructive", new { threshold = 3, window_seconds = 60 }));
        Assert.Empty(h.SendMany(10, action: "document.deleted", every: TimeSpan.FromSeconds(31)));
        Assert.Empty(h.SendMany(20, action: "document.updated"));

        // The default patterns: *.deleted, *.removed, *.destroyed.
        var defaults = new RuleHarness(Create("high_volume_destructive", new { threshold = 3 }));
        Assert.Empty(defaults.SendMany(10, action: "document.archived"));
        Assert.Single(defaults.SendMany(3, action: "member.removed"));
    }

    [Fact]
    public void A_destructive_burst_is_counted_per_actor_per_tenant_or_for_the_whole_ledger()
    {
        var byActor = new RuleHarness(Create("high_volume_destructive", new { threshold = 4 }));
        Assert.Empty(byActor.SendMany(3, actor: "a"));
        Assert.Empty(byActor.SendMany(3, actor: "b"));

        var byTenant = new RuleHarness(Create("high_volume_destructive", new { threshold = 4, group_by = "tenant" }));
        var tenantAlerts = new List<AlertDraft>();
        foreach (var actor in new[] { "a", "b", "c", "d" })
        {
            // Four actors of t_1 make a burst; three events of t_2 and events without a tenant do not.
            tenantAlerts.AddRange(byTenant.Send(actor: actor, tenant: "t_1"));
            tenantAlerts.AddRange(byTenant.Send(actor: actor, tenant: actor == "d" ? null : "t_2"));
        }

        Assert.Single(tenantAlerts);
        Assert.StartsWith("Tenant t_1 performed 4 destructive actions", tenantAlerts[0].Reason, StringComparison.Ordinal);

        var byLedger = new RuleHarness(Create("high_volume_destructive", new { threshold = 4, group_by = "ledger" }));
        var ledgerAlerts = new[] { "a", "b", "c", "d" }.SelectMany(actor => byLedger.Send(actor: actor)).ToList();
        Assert.StartsWith("The ledger performed 4 destructive actions", Assert.Single(ledgerAlerts).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Repeated_action_counts_one_actor_and_one_action_within_the_window()
    {
        var h = new RuleHarness(Create("repeated_action", new { actions = new[] { "invoice.exported", "report.*" }, threshold = 3, window_seconds = 120 }));
        Assert.Empty(h.SendMany(2, action: "invoice.exported"));
        Assert.Empty(h.SendMany(2, action: "report.downloaded"));
        Assert.Empty(h.SendMany(2, actor: "other", action: "invoice.exported"));
        Assert.Empty(h.SendMany(5, action: "invoice.viewed"));

        var alert = Assert.Single(h.Send(action: "invoice.exported"));
        Assert.Equal("Actor u_9 performed invoice.exported 3 times within 2 minutes", alert.Reason);

        // Cooldown defaults to the window.
        Assert.Empty(h.SendMany(3, action: "invoice.exported"));
        h.Now += TimeSpan.FromMinutes(3);
        Assert.Single(h.SendMany(3, action: "invoice.exported"));
    }

    [Fact]
    public void Repeated_actions_slower_than_the_window_do_not_alert()
    {
        var h = new RuleHarness(Create("repeated_action", new { actions = new[] { "invoice.exported" }, threshold = 3, window_seconds = 60 }));
        Assert.Empty(h.SendMany(12, action: "invoice.exported", every: TimeSpan.FromSeconds(31)));
    }

    [Fact]
    public void Off_hours_alerts_outside_business_hours_in_the_rule_time_zone()
    {
        var h = new RuleHarness(Create("off_hours", new { time_zone = "Europe/Berlin", start = "08:00", end = "18:00", holidays = new[] { "2026-12-25" } }));
        static DateTimeOffset Berlin(int day, int hour, int minute = 0) => new(2026, 12, day, hour, minute, 0, TimeSpan.FromHours(1));

        Assert.Empty(h.Send(occurredAt: Berlin(1, 8)));          // Tuesday 08:00, the first minute of the day
        Assert.Empty(h.Send(occurredAt: Berlin(1, 17, 59)));     // Tuesday 17:59
        var evening = Assert.Single(h.Send(occurredAt: Berlin(1, 18)));
        Assert.Equal("Actor u_9 performed document.deleted at 18:00 on Tuesday 2026-12-01 (Europe/Berlin), outside business hours", evening.Reason);
        Assert.Single(h.Send(occurredAt: Berlin(2, 7, 59)));     // Wednesday, before start
        Assert.Contains("non-business day", Assert.Single(h.Send(occurredAt: Berlin(5, 11))).Reason, StringComparison.Ordinal); // Saturday
        Assert.Contains("holiday", Assert.Single(h.Send(occurredAt: Berlin(25, 11))).Reason, StringComparison.Ordinal);        // Friday, a holiday

        // The same instant seen from UTC is 10:00 on Tuesday: inside hours in Berlin.
        Assert.Empty(h.Send(occurredAt: new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void Off_hours_follows_daylight_saving_time_and_honours_its_patterns_and_cooldown()
    {
        var h = new RuleHarness(Create("off_hours", new { time_zone = "America/New_York", actions = new[] { "*.deleted" }, cooldown_seconds = 3600 }));

        // 13:30 UTC is 09:30 in New York in summer (EDT) but 08:30 in winter (EST).
        Assert.Empty(h.Send(occurredAt: new DateTimeOffset(2026, 7, 7, 13, 30, 0, TimeSpan.Zero)));
        Assert.Single(h.Send(occurredAt: new DateTimeOffset(2026, 12, 8, 13, 30, 0, TimeSpan.Zero)));

        // Within the actor's cooldown nothing more; another actor is not held back; unwatched actions never alert.
        Assert.Empty(h.Send(occurredAt: new DateTimeOffset(2026, 12, 8, 13, 31, 0, TimeSpan.Zero)));
        Assert.Single(h.Send(actor: "other", occurredAt: new DateTimeOffset(2026, 12, 8, 13, 31, 0, TimeSpan.Zero)));
        Assert.Empty(h.Send(actor: "third", action: "document.viewed", occurredAt: new DateTimeOffset(2026, 12, 8, 3, 0, 0, TimeSpan.Zero)));
        h.Now += TimeSpan.FromHours(2);
        Assert.Single(h.Send(occurredAt: new DateTimeOffset(2026, 12, 8, 13, 31, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void An_ingestion_spike_only_learns_on_the_first_day_then_alerts_once_per_bucket()
    {
        var h = new RuleHarness(Create("ingestion_spike", new { bucket_seconds = 3600, multiplier = 3, baseline_days = 7, min_count = 10 }));
        h.Now = new DateTimeOffset(2026, 11, 30, 14, 0, 0, TimeSpan.Zero);

        // Day one: no baseline yet, so even a flood only teaches.
        Assert.Empty(h.SendMany(200, every: TimeSpan.FromSeconds(1)));

        // Day two, the same hour: baseline 200, threshold 600.
        h.Now = new DateTimeOffset(2026, 12, 1, 14, 0, 0, TimeSpan.Zero);
        Assert.Empty(h.SendMany(600, every: TimeSpan.FromMilliseconds(100)));
        var alert = Assert.Single(h.Send());
        Assert.StartsWith("The ledger received 601 events between 2026-12-01 14:00 and 15:00 UTC, 3× the baseline of 200", alert.Reason, StringComparison.Ordinal);
        Assert.Empty(h.SendMany(500, every: TimeSpan.FromMilliseconds(1)));

        // Another hour with no history on day one: the baseline is 0 there, so min_count decides.
        h.Now = new DateTimeOffset(2026, 12, 1, 16, 0, 0, TimeSpan.Zero);
        Assert.Empty(h.SendMany(10, every: TimeSpan.FromSeconds(1)));
        Assert.Single(h.Send());
    }

    [Fact]
    public void Normal_traffic_is_not_a_spike()
    {
        var h = new RuleHarness(Create("ingestion_spike", new { bucket_seconds = 900, multiplier = 2, baseline_days = 3, min_count = 5 }));
        for (var day = 0; day < 5; day++)
        {
            h.Now = new DateTimeOffset(2026, 11, 20 + day, 9, 0, 0, TimeSpan.Zero);
            Assert.Empty(h.SendMany(100 + (day * 10), every: TimeSpan.FromSeconds(5)));
        }

        // State stays bounded: only the buckets the baseline needs are kept.
        var state = JsonDocument.Parse(h.Stored["counts"]).RootElement.GetProperty("b");
        Assert.InRange(state.EnumerateObject().Count(), 1, 4 * 2);
    }

    [Theory]
    [InlineData("new_country", """{"actions":[]}""", "parameters.actions")]
    [InlineData("new_country", """{"actions":["bad pattern!"]}""", "parameters.actions")]
    [InlineData("new_country", """{"country":"DE"}""", "parameters.country")]
    [InlineData("high_volume_destructive", """{"threshold":0}""", "parameters.threshold")]
    [InlineData("high_volume_destructive", """{"threshold":"10"}""", "parameters.threshold")]
    [InlineData("high_volume_destructive", """{"window_seconds":1e20}""", "parameters.window_seconds")]
    [InlineData("high_volume_destructive", """{"group_by":"session"}""", "parameters.group_by")]
    [InlineData("ingestion_spike", """{"bucket_seconds":7}""", "parameters.bucket_seconds")]
    [InlineData("ingestion_spike", """{"bucket_seconds":7000}""", "parameters.bucket_seconds")]
    [InlineData("ingestion_spike", """{"multiplier":1}""", "parameters.multiplier")]
    [InlineData("ingestion_spike", """{"baseline_days":0}""", "parameters.baseline_days")]
    [InlineData("repeated_action", """{}""", "parameters.actions")]
    [InlineData("repeated_action", """{"actions":["a.b"],"threshold":1}""", "parameters.threshold")]
    [InlineData("off_hours", """{}""", "parameters.time_zone")]
    [InlineData("off_hours", """{"time_zone":"Mars/Olympus"}""", "parameters.time_zone")]
    [InlineData("off_hours", """{"time_zone":"Europe/Berlin","start":"9am"}""", "parameters.start")]
    [InlineData("off_hours", """{"time_zone":"Europe/Berlin","start":"18:00","end":"09:00"}""", "parameters.end")]
    [InlineData("off_hours", """{"time_zone":"Europe/Berlin","days":["monday"]}""", "parameters.days")]
    [InlineData("off_hours", """{"time_zone":"Europe/Berlin","holidays":["25.12.2026"]}""", "parameters.holidays")]
    [InlineData("integrity_violation", """{"x":1}""", "parameters.x")]
    public void Bad_parameters_are_refused_naming_the_field(string type, string parameters, string field)
    {
        var errors = Errors(type, parameters);
        Assert.Contains(errors, e => e.Field == field);
    }

    [Fact]
    public void Defaults_fill_absent_parameters()
    {
        var burst = Create("high_volume_destructive");
        Assert.Equal(new[] { "*.deleted", "*.removed", "*.destroyed" }, (IEnumerable<string>)burst.Parameters["actions"]!);
        Assert.Equal(10, burst.Parameters["threshold"]);
        Assert.Equal("actor", burst.Parameters["group_by"]);

        var offHours = Create("off_hours", new { time_zone = "UTC" });
        Assert.Equal("09:00", offHours.Parameters["start"]);
        Assert.Equal("18:00", offHours.Parameters["end"]);
        Assert.Equal(new[] { "mon", "tue", "wed", "thu", "fri" }, (IEnumerable<string>)offHours.Parameters["days"]!);
    }

    [Theory]
    [InlineData("*", "anything.at.all", true)]
    [InlineData("*.deleted", "document.deleted", true)]
    [InlineData("*.deleted", "document.deleted.not", false)]
    [InlineData("user.*", "user.", true)]
    [InlineData("user.*", "users.created", false)]
    [InlineData("a*b*c", "abc", true)]
    [InlineData("a*b*c", "a-x-b-y-c", true)]
    [InlineData("a*b*c", "acb", false)]
    [InlineData("a*bc*bc", "abcbc", true)]
    [InlineData("a*bc*bc", "abc", false)]
    [InlineData("document.deleted", "document.deleted", true)]
    [InlineData("document.deleted", "Document.deleted", false)]
    public void Action_patterns_match_like_the_event_filter(string pattern, string action, bool matches)
    {
        Assert.Equal(matches, new ActionPattern(pattern).Matches(action));
    }

    [Theory]
    [InlineData("new_country", null)]
    [InlineData("high_volume_destructive", null)]
    [InlineData("ingestion_spike", null)]
    [InlineData("repeated_action", """{"actions":["a.*"]}""")]
    [InlineData("off_hours", """{"time_zone":"Europe/Berlin"}""")]
    [InlineData("off_hours", """{"time_zone":"Asia/Tokyo","days":["sat"],"start":"00:00","end":"24:00","holidays":["2026-01-01"],"cooldown_seconds":60}""")]
    public void Normalised_parameters_read_back_as_the_same_rule(string type, string? parameters)
    {
        var errors = new List<FieldError>();
        JsonElement? given = parameters is null ? null : JsonDocument.Parse(parameters).RootElement.Clone();
        var rule = AlertRuleFactory.Create(type, given, errors)!;
        Assert.Empty(errors);

        // What is stored is the normalised form; reading it back must give the same parameters.
        var stored = JsonSerializer.Serialize(rule.Parameters);
        var again = AlertRuleFactory.FromStored(type, stored)!;
        Assert.Equal(stored, JsonSerializer.Serialize(again.Parameters));
    }
}

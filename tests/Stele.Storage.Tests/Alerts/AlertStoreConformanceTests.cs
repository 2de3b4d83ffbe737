using Stele.Storage.Alerts;
using static Stele.Storage.Tests.TestData;

namespace Stele.Storage.Tests.Alerts;

/// <summary>The detection part of the storage contract (<see cref="IAlertStore"/>), run unchanged against every backend.</summary>
public abstract class AlertStoreConformanceTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    protected abstract Task<ISteleStore> CreateStoreAsync();

    /// <summary>Another, not yet initialised, store over the same database (a second node).</summary>
    protected abstract ISteleStore OpenSameDatabase(ISteleStore store);

    private static AlertRuleRecord Rule(long ledgerId, string id, string type = "repeated_action", IReadOnlyList<string>? destinations = null) => new()
    {
        Id = id,
        LedgerId = ledgerId,
        Type = type,
        Name = "rule " + id,
        Parameters = """{"threshold":3}""",
        Destinations = destinations ?? [],
        Enabled = true,
        CreatedAt = Now,
        UpdatedAt = Now,
    };

    private static AlertDestinationRecord Destination(long ledgerId, string id) => new()
    {
        Id = id,
        LedgerId = ledgerId,
        Kind = "webhook",
        Name = "hook",
        Target = "https://example.com/hook",
        Secrets = """[{"secret":"whsec_x","expires_at":null}]""",
        State = AlertDestinationRecord.Active,
        CreatedAt = Now,
        UpdatedAt = Now,
    };

    private static AlertRecord Alert(long ledgerId, string id, string ruleId, string dedupe, DateTimeOffset? at = null, string type = "repeated_action", string? actor = "alice") => new()
    {
        Id = id,
        LedgerId = ledgerId,
        RuleId = ruleId,
        RuleType = type,
        RuleName = "rule",
        DedupeKey = dedupe,
        Seq = 7,
        EventId = "evt_" + id,
        ActorId = actor,
        Reason = "Actor alice did it",
        Details = """{"count":3}""",
        CreatedAt = at ?? Now,
    };

    private static AlertDeliveryRecord Delivery(long ledgerId, string id, string alertId, string destinationId, DateTimeOffset? due = null) => new()
    {
        Id = id,
        AlertId = alertId,
        DestinationId = destinationId,
        LedgerId = ledgerId,
        State = AlertDeliveryRecord.Pending,
        Attempts = 0,
        NextAttemptAt = due ?? Now,
        CreatedAt = Now,
    };

    private async Task<(ISteleStore Store, long Ledger, long Other)> SetUpAsync()
    {
        var store = await CreateStoreAsync();
        var ledger = await store.CreateLedgerAsync("main", null, Now, None);
        var other = await store.CreateLedgerAsync("other", null, Now, None);
        return (store, ledger!.Id, other!.Id);
    }

    [StoreFact]
    public async Task Rules_are_stored_listed_updated_and_deleted_per_ledger()
    {
        var (store, ledger, other) = await SetUpAsync();
        await using var _ = store;
        Assert.True(await store.TryAddAlertRuleAsync(Rule(ledger, "rul_a", destinations: ["dst_1", "dst_2"]), 10, None));
        Assert.True(await store.TryAddAlertRuleAsync(Rule(other, "rul_b"), 10, None));

        var read = await store.GetAlertRuleAsync(ledger, "rul_a", None);
        Assert.NotNull(read);
        Assert.Equal(["dst_1", "dst_2"], read.Destinations);
        Assert.Equal("""{"threshold":3}""", read.Parameters);
        Assert.True(read.Enabled);
        Assert.Equal(Now, read.CreatedAt);

        // Another ledger's rule is not found through this ledger.
        Assert.Null(await store.GetAlertRuleAsync(ledger, "rul_b", None));
        Assert.Equal(["rul_a"], (await store.ListAlertRulesAsync(ledger, None)).Select(r => r.Id));

        Assert.True(await store.UpdateAlertRuleAsync(read with { Name = "renamed", Enabled = false, Destinations = [], UpdatedAt = Now.AddMinutes(1) }, None));
        var updated = await store.GetAlertRuleAsync(ledger, "rul_a", None);
        Assert.Equal("renamed", updated!.Name);
        Assert.False(updated.Enabled);
        Assert.Empty(updated.Destinations);
        Assert.Equal(Now.AddMinutes(1), updated.UpdatedAt);

        Assert.False(await store.DeleteAlertRuleAsync(other, "rul_a", None));
        Assert.True(await store.DeleteAlertRuleAsync(ledger, "rul_a", None));
        Assert.Null(await store.GetAlertRuleAsync(ledger, "rul_a", None));
        Assert.False(await store.DeleteAlertRuleAsync(ledger, "rul_a", None));
    }

    [StoreFact]
    public async Task The_rule_quota_is_checked_with_the_insert_and_the_built_in_rule_does_not_count()
    {
        var (store, ledger, _) = await SetUpAsync();
        await using var _s = store;
        await store.EnsureAlertRuleAsync(Rule(ledger, "rul_integrity_main", "integrity_violation"), None);
        await store.EnsureAlertRuleAsync(Rule(ledger, "rul_integrity_main", "integrity_violation"), None);
        Assert.True(await store.TryAddAlertRuleAsync(Rule(ledger, "rul_1"), 2, None));
        Assert.True(await store.TryAddAlertRuleAsync(Rule(ledger, "rul_2"), 2, None));
        Assert.False(await store.TryAddAlertRuleAsync(Rule(ledger, "rul_3"), 2, None));
        Assert.Equal(3, (await store.ListAlertRulesAsync(ledger, None)).Count);

        // Concurrent creations from two "nodes" cannot overrun the quota either.
        await using var second = OpenSameDatabase(store);
        await second.InitializeAsync(None);
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            (i % 2 == 0 ? store : second).TryAddAlertRuleAsync(Rule(ledger, $"rul_c{i}"), 6, None)));
        Assert.Equal(4, results.Count(r => r));
    }

    [StoreFact]
    public async Task Destinations_are_stored_updated_and_deleted_per_ledger()
    {
        var (store, ledger, other) = await SetUpAsync();
        await using var _ = store;
        await store.AddAlertDestinationAsync(Destination(ledger, "dst_1"), None);
        Assert.NotNull(await store.FindAlertDestinationAsync("dst_1", None));
        Assert.Null(await store.GetAlertDestinationAsync(other, "dst_1", None));

        var disabled = Destination(ledger, "dst_1") with { State = AlertDestinationRecord.Disabled, DisabledReason = "410", Secrets = null, UpdatedAt = Now.AddHours(1) };
        Assert.True(await store.UpdateAlertDestinationAsync(disabled, None));
        var read = await store.GetAlertDestinationAsync(ledger, "dst_1", None);
        Assert.Equal(AlertDestinationRecord.Disabled, read!.State);
        Assert.Equal("410", read.DisabledReason);
        Assert.Null(read.Secrets);
        Assert.Single(await store.ListAlertDestinationsAsync(ledger, None));
        Assert.Empty(await store.ListAlertDestinationsAsync(other, None));

        Assert.False(await store.DeleteAlertDestinationAsync(other, "dst_1", None));
        Assert.True(await store.DeleteAlertDestinationAsync(ledger, "dst_1", None));
        Assert.Null(await store.FindAlertDestinationAsync("dst_1", None));
    }

    [StoreFact]
    public async Task An_evaluation_step_moves_the_cursor_and_writes_state_alerts_and_outbox_rows_together()
    {
        var (store, ledger, _) = await SetUpAsync();
        await using var _s = store;
        Assert.Equal(0, await store.GetAlertCursorAsync(ledger, None));

        var batch = new AlertEvaluationBatch
        {
            StateChanges = [new("rul_1", "a:alice", "[1,2]"), new("rul_1", "a:bob", "[3]")],
            Alerts = [Alert(ledger, "alt_1", "rul_1", "k1")],
            Deliveries = [Delivery(ledger, "msg_1", "alt_1", "dst_1")],
        };
        Assert.True(await store.CommitAlertEvaluationAsync(ledger, 0, 100, batch, None));
        Assert.Equal(100, await store.GetAlertCursorAsync(ledger, None));
        var state = await store.GetRuleStateAsync("rul_1", ["a:alice", "a:bob", "a:carol"], None);
        Assert.Equal(2, state.Count);
        Assert.Equal("[1,2]", state["a:alice"]);
        Assert.NotNull(await store.GetAlertAsync(ledger, "alt_1", None));
        Assert.Single(await store.ListDeliveriesAsync("alt_1", None));

        // A stale cursor (another node got there first) writes nothing.
        var stale = new AlertEvaluationBatch { StateChanges = [new("rul_1", "a:alice", "stale")], Alerts = [Alert(ledger, "alt_2", "rul_1", "k2")] };
        Assert.False(await store.CommitAlertEvaluationAsync(ledger, 0, 50, stale, None));
        Assert.False(await store.CommitAlertEvaluationAsync(ledger, 99, 150, stale, None));
        Assert.Equal(100, await store.GetAlertCursorAsync(ledger, None));
        Assert.Equal("[1,2]", (await store.GetRuleStateAsync("rul_1", ["a:alice"], None))["a:alice"]);
        Assert.Null(await store.GetAlertAsync(ledger, "alt_2", None));

        // Removing a key, and a duplicate dedupe key (same rule) is skipped with its outbox rows.
        var next = new AlertEvaluationBatch
        {
            StateChanges = [new("rul_1", "a:bob", null)],
            Alerts = [Alert(ledger, "alt_3", "rul_1", "k1"), Alert(ledger, "alt_4", "rul_2", "k1")],
            Deliveries = [Delivery(ledger, "msg_3", "alt_3", "dst_1"), Delivery(ledger, "msg_4", "alt_4", "dst_1")],
        };
        Assert.True(await store.CommitAlertEvaluationAsync(ledger, 100, 200, next, None));
        Assert.Empty(await store.GetRuleStateAsync("rul_1", ["a:bob"], None));
        Assert.Null(await store.GetAlertAsync(ledger, "alt_3", None));
        Assert.Empty(await store.ListDeliveriesAsync("alt_3", None));
        Assert.NotNull(await store.GetAlertAsync(ledger, "alt_4", None));
        Assert.Single(await store.ListDeliveriesAsync("alt_4", None));
    }

    [StoreFact]
    public async Task Two_nodes_evaluating_the_same_events_commit_once()
    {
        var (store, ledger, _) = await SetUpAsync();
        await using var _s = store;
        await using var second = OpenSameDatabase(store);
        await second.InitializeAsync(None);

        var results = await Task.WhenAll(
            store.CommitAlertEvaluationAsync(ledger, 0, 10, new AlertEvaluationBatch { Alerts = [Alert(ledger, "alt_a", "rul_1", "x")] }, None),
            second.CommitAlertEvaluationAsync(ledger, 0, 10, new AlertEvaluationBatch { Alerts = [Alert(ledger, "alt_b", "rul_1", "y")] }, None));

        Assert.Equal(1, results.Count(r => r));
        Assert.Single((await store.QueryAlertsAsync(ledger, new AlertQuery(), None)).Alerts);
        Assert.Equal(10, await store.GetAlertCursorAsync(ledger, None));
    }

    [StoreFact]
    public async Task Alerts_added_outside_evaluation_are_deduplicated()
    {
        var (store, ledger, _) = await SetUpAsync();
        await using var _s = store;
        var batch = new AlertEvaluationBatch { Alerts = [Alert(ledger, "alt_1", "rul_i", "breaks:ab")], Deliveries = [Delivery(ledger, "msg_1", "alt_1", "dst_1")] };
        Assert.Equal(1, await store.AddAlertsAsync(batch, None));
        var again = new AlertEvaluationBatch { Alerts = [Alert(ledger, "alt_2", "rul_i", "breaks:ab")], Deliveries = [Delivery(ledger, "msg_2", "alt_2", "dst_1")] };
        Assert.Equal(0, await store.AddAlertsAsync(again, None));
        Assert.Single((await store.QueryAlertsAsync(ledger, new AlertQuery(), None)).Alerts);
        Assert.Equal(0, await store.GetAlertCursorAsync(ledger, None));
    }

    [StoreFact]
    public async Task Alerts_are_listed_newest_first_with_filters_and_keyset_pages()
    {
        var (store, ledger, other) = await SetUpAsync();
        await using var _s = store;
        var alerts = Enumerable.Range(0, 7)
            .Select(i => Alert(ledger, $"alt_{i:D2}", i % 2 == 0 ? "rul_even" : "rul_odd", $"k{i}", Now.AddMinutes(i), i % 2 == 0 ? "new_country" : "off_hours", i < 3 ? "alice" : "bob"))
            .ToList();
        await store.AddAlertsAsync(new AlertEvaluationBatch { Alerts = alerts }, None);
        await store.AddAlertsAsync(new AlertEvaluationBatch { Alerts = [Alert(other, "alt_zz", "rul_x", "k")] }, None);

        var first = await store.QueryAlertsAsync(ledger, new AlertQuery { Limit = 3 }, None);
        Assert.Equal(["alt_06", "alt_05", "alt_04"], first.Alerts.Select(a => a.Id));
        Assert.True(first.HasMore);
        var second = await store.QueryAlertsAsync(ledger, new AlertQuery { Limit = 3, BeforeId = "alt_04" }, None);
        Assert.Equal(["alt_03", "alt_02", "alt_01"], second.Alerts.Select(a => a.Id));
        var last = await store.QueryAlertsAsync(ledger, new AlertQuery { Limit = 3, BeforeId = "alt_01" }, None);
        Assert.Equal(["alt_00"], last.Alerts.Select(a => a.Id));
        Assert.False(last.HasMore);

        Assert.Equal(["alt_06", "alt_04", "alt_02", "alt_00"], (await store.QueryAlertsAsync(ledger, new AlertQuery { RuleId = "rul_even" }, None)).Alerts.Select(a => a.Id));
        Assert.Equal(["alt_05", "alt_03", "alt_01"], (await store.QueryAlertsAsync(ledger, new AlertQuery { RuleType = "off_hours" }, None)).Alerts.Select(a => a.Id));
        Assert.Equal(["alt_02", "alt_01", "alt_00"], (await store.QueryAlertsAsync(ledger, new AlertQuery { ActorId = "alice" }, None)).Alerts.Select(a => a.Id));
        Assert.Equal(["alt_03"], (await store.QueryAlertsAsync(ledger, new AlertQuery { EventId = "evt_alt_03" }, None)).Alerts.Select(a => a.Id));
        var micros = (Now.AddMinutes(2).UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        Assert.Equal(["alt_03", "alt_02"], (await store.QueryAlertsAsync(ledger, new AlertQuery { FromMicros = micros, ToMicros = micros + 120_000_000 }, None)).Alerts.Select(a => a.Id));
        Assert.Null(await store.GetAlertAsync(ledger, "alt_zz", None));
    }

    [StoreFact]
    public async Task Due_deliveries_are_claimed_once_retried_and_logged()
    {
        var (store, ledger, _) = await SetUpAsync();
        await using var _s = store;
        await store.AddAlertsAsync(new AlertEvaluationBatch
        {
            Alerts = [Alert(ledger, "alt_1", "rul_1", "k")],
            Deliveries = [Delivery(ledger, "msg_1", "alt_1", "dst_1"), Delivery(ledger, "msg_2", "alt_1", "dst_2", Now.AddMinutes(5))],
        }, None);
        Assert.Equal(Now, await store.NextDeliveryDueAsync(None));

        var claimed = await store.ClaimDueDeliveriesAsync("node-a", Now, Now.AddMinutes(1), 10, None);
        Assert.Equal(["msg_1"], claimed.Select(d => d.Id));
        Assert.Equal("node-a", claimed[0].Worker);

        // Leased: nobody else gets it until the lease ends; the same worker (restarted) takes it back.
        Assert.Empty(await store.ClaimDueDeliveriesAsync("node-b", Now.AddSeconds(30), Now.AddMinutes(2), 10, None));
        claimed = await store.ClaimDueDeliveriesAsync("node-a", Now.AddSeconds(30), Now.AddMinutes(1), 10, None);
        Assert.Equal(["msg_1"], claimed.Select(d => d.Id));

        var retry = claimed[0] with { Attempts = 1, NextAttemptAt = Now.AddMinutes(10), LastStatus = 503, LastError = "HTTP 503" };
        Assert.True(await store.CompleteDeliveryAttemptAsync(retry, Attempt("msg_1", 1, "retry", 503), None));
        Assert.Equal(Now.AddMinutes(5), await store.NextDeliveryDueAsync(None));

        // A worker that lost its lease cannot write.
        var takeover = await store.ClaimDueDeliveriesAsync("node-b", Now.AddMinutes(11), Now.AddMinutes(12), 10, None);
        Assert.Equal(["msg_1", "msg_2"], takeover.Select(d => d.Id).Order());
        Assert.False(await store.CompleteDeliveryAttemptAsync(claimed[0] with { State = AlertDeliveryRecord.Delivered }, Attempt("msg_1", 2, "delivered", 200), None));

        var delivered = takeover.Single(d => d.Id == "msg_1") with { State = AlertDeliveryRecord.Delivered, Attempts = 2, DeliveredAt = Now.AddMinutes(11), LastStatus = 200 };
        Assert.True(await store.CompleteDeliveryAttemptAsync(delivered, Attempt("msg_1", 2, "delivered", 200), None));
        var failed = takeover.Single(d => d.Id == "msg_2") with { State = AlertDeliveryRecord.Failed, Attempts = 1, LastError = "HTTP 400" };
        Assert.True(await store.CompleteDeliveryAttemptAsync(failed, Attempt("msg_2", 1, "failed", 400), None));
        Assert.Null(await store.NextDeliveryDueAsync(None));
        Assert.Empty(await store.ClaimDueDeliveriesAsync("node-c", Now.AddDays(1), Now.AddDays(2), 10, None));

        var rows = await store.ListDeliveriesAsync("alt_1", None);
        Assert.Equal(AlertDeliveryRecord.Delivered, rows.Single(d => d.Id == "msg_1").State);
        Assert.Equal(Now.AddMinutes(11), rows.Single(d => d.Id == "msg_1").DeliveredAt);
        Assert.Null(rows.Single(d => d.Id == "msg_1").Worker);
        var log = await store.ListDeliveryAttemptsAsync("alt_1", None);
        Assert.Equal(3, log.Count);
        Assert.Equal(["retry", "delivered"], log.Where(a => a.DeliveryId == "msg_1").OrderBy(a => a.Attempt).Select(a => a.Outcome));
    }

    [StoreFact]
    public async Task Two_nodes_claiming_at_once_never_share_a_delivery()
    {
        var (store, ledger, _) = await SetUpAsync();
        await using var _s = store;
        await using var second = OpenSameDatabase(store);
        await second.InitializeAsync(None);
        var deliveries = Enumerable.Range(0, 40).Select(i => Delivery(ledger, $"msg_{i:D2}", "alt_1", "dst_1")).ToList();
        await store.AddAlertsAsync(new AlertEvaluationBatch { Alerts = [Alert(ledger, "alt_1", "rul_1", "k")], Deliveries = deliveries }, None);

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            (i % 2 == 0 ? store : second).ClaimDueDeliveriesAsync($"node-{i}", Now, Now.AddMinutes(1), 7, None)));
        var ids = claims.SelectMany(c => c.Select(d => d.Id)).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(40, ids.Count);
    }

    private static DeliveryAttemptRecord Attempt(string delivery, int attempt, string outcome, int status) => new()
    {
        DeliveryId = delivery,
        Attempt = attempt,
        At = Now.AddMinutes(attempt),
        Outcome = outcome,
        StatusCode = status,
        Detail = "HTTP " + status,
        DurationMillis = 12,
    };
}

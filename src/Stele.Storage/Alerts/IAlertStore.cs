namespace Stele.Storage.Alerts;

/// <summary>
/// The detection part of the storage contract: alert rules and destinations, the durable rule
/// state and evaluation cursor, raised alerts, and the delivery outbox. Every backend implements
/// it as part of <see cref="ISteleStore"/> and passes the same conformance suite.
/// </summary>
public interface IAlertStore
{
    /// <summary>Stores a rule unless its ledger holds <paramref name="perLedgerQuota"/> rules already (checked and inserted atomically). False when over quota.</summary>
    Task<bool> TryAddAlertRuleAsync(AlertRuleRecord rule, int perLedgerQuota, CancellationToken cancellationToken);

    /// <summary>Stores a rule if no rule with its id exists (the built-in integrity rule of a ledger). Never counts against the quota.</summary>
    Task EnsureAlertRuleAsync(AlertRuleRecord rule, CancellationToken cancellationToken);

    Task<AlertRuleRecord?> GetAlertRuleAsync(long ledgerId, string id, CancellationToken cancellationToken);

    /// <summary>A ledger's rules, oldest first.</summary>
    Task<IReadOnlyList<AlertRuleRecord>> ListAlertRulesAsync(long ledgerId, CancellationToken cancellationToken);

    /// <summary>Writes name, parameters, destinations, enabled and updated_at; false if the rule does not exist.</summary>
    Task<bool> UpdateAlertRuleAsync(AlertRuleRecord rule, CancellationToken cancellationToken);

    /// <summary>Removes a rule and its state (its alerts stay); false if it does not exist.</summary>
    Task<bool> DeleteAlertRuleAsync(long ledgerId, string id, CancellationToken cancellationToken);

    Task AddAlertDestinationAsync(AlertDestinationRecord destination, CancellationToken cancellationToken);

    Task<AlertDestinationRecord?> GetAlertDestinationAsync(long ledgerId, string id, CancellationToken cancellationToken);

    /// <summary>A destination by id alone, for the delivery worker.</summary>
    Task<AlertDestinationRecord?> FindAlertDestinationAsync(string id, CancellationToken cancellationToken);

    Task<IReadOnlyList<AlertDestinationRecord>> ListAlertDestinationsAsync(long ledgerId, CancellationToken cancellationToken);

    /// <summary>Writes name, target, secrets, state, disabled_reason and updated_at; false if it does not exist.</summary>
    Task<bool> UpdateAlertDestinationAsync(AlertDestinationRecord destination, CancellationToken cancellationToken);

    Task<bool> DeleteAlertDestinationAsync(long ledgerId, string id, CancellationToken cancellationToken);

    /// <summary>The next seq the ledger's rules have not evaluated yet (0 before the first evaluation).</summary>
    Task<long> GetAlertCursorAsync(long ledgerId, CancellationToken cancellationToken);

    /// <summary>The stored state values of a rule for the given keys (absent keys are left out).</summary>
    Task<IReadOnlyDictionary<string, string>> GetRuleStateAsync(string ruleId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>
    /// Writes one evaluation step in one transaction: the cursor moves from
    /// <paramref name="expectedCursor"/> to <paramref name="newCursor"/>, the state changes, the new
    /// alerts (skipping any whose rule already has its dedupe key) and their outbox rows. Returns
    /// false, writing nothing, when the cursor is no longer <paramref name="expectedCursor"/>
    /// (another node evaluated these events first).
    /// </summary>
    Task<bool> CommitAlertEvaluationAsync(long ledgerId, long expectedCursor, long newCursor, AlertEvaluationBatch batch, CancellationToken cancellationToken);

    /// <summary>Stores alerts raised outside the event stream (the tamper monitor), with their outbox rows; duplicates by dedupe key are skipped. Returns how many alerts were new.</summary>
    Task<int> AddAlertsAsync(AlertEvaluationBatch batch, CancellationToken cancellationToken);

    Task<AlertRecord?> GetAlertAsync(long ledgerId, string id, CancellationToken cancellationToken);

    Task<AlertPage> QueryAlertsAsync(long ledgerId, AlertQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Claims up to <paramref name="limit"/> pending deliveries due at <paramref name="now"/> whose
    /// lease is free, expired or already <paramref name="worker"/>'s (a restarted node takes its rows
    /// back), for <paramref name="worker"/> until <paramref name="leaseUntil"/>, in one atomic step
    /// (two nodes never claim the same row at once).
    /// </summary>
    Task<IReadOnlyList<AlertDeliveryRecord>> ClaimDueDeliveriesAsync(
        string worker, DateTimeOffset now, DateTimeOffset leaseUntil, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Records an attempt and the delivery's new state (lease released) if <paramref name="delivery"/>'s
    /// worker still holds it. False, writing nothing, when the lease was lost.
    /// </summary>
    Task<bool> CompleteDeliveryAttemptAsync(AlertDeliveryRecord delivery, DeliveryAttemptRecord attempt, CancellationToken cancellationToken);

    /// <summary>When the earliest pending delivery is due, or null when none is pending.</summary>
    Task<DateTimeOffset?> NextDeliveryDueAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<AlertDeliveryRecord>> ListDeliveriesAsync(string alertId, CancellationToken cancellationToken);

    /// <summary>Every attempt of every delivery of an alert, in order.</summary>
    Task<IReadOnlyList<DeliveryAttemptRecord>> ListDeliveryAttemptsAsync(string alertId, CancellationToken cancellationToken);
}

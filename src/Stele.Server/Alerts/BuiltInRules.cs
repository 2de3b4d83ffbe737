using Stele.Storage;
using Stele.Storage.Alerts;

namespace Stele.Server.Alerts;

/// <summary>The always-on <c>integrity_violation</c> rule each ledger has; only its destinations and name can change.</summary>
internal static class BuiltInRules
{
    public static AlertRuleRecord Integrity(LedgerInfo ledger, DateTimeOffset now) => new()
    {
        Id = AlertIds.IntegrityRule(ledger.Name),
        LedgerId = ledger.Id,
        Type = AlertRuleFactory.IntegrityViolation,
        Name = "Integrity violation",
        Parameters = "{}",
        Destinations = [],
        Enabled = true,
        CreatedAt = ledger.CreatedAt,
        UpdatedAt = now,
    };

    /// <summary>Makes sure the ledger's integrity rule is stored (idempotent, safe on several nodes at once).</summary>
    public static Task EnsureAsync(ISteleStore store, LedgerInfo ledger, DateTimeOffset now, CancellationToken cancellationToken) =>
        store.EnsureAlertRuleAsync(Integrity(ledger, now), cancellationToken);
}

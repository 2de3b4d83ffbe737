using System.Globalization;

namespace Stele.Server.Alerts.Rules;

/// <summary>
/// <c>high_volume_destructive</c>: at least <c>threshold</c> events matching destructive action
/// patterns within a sliding window (by received time), per actor, tenant or the whole ledger;
/// after an alert the group stays quiet for the cooldown.
/// </summary>
internal sealed class DestructiveBurstRule(IReadOnlyList<ActionPattern> actions, int threshold, long windowSeconds, string groupBy, long cooldownSeconds)
    : IAlertRule
{
    public const string TypeName = "high_volume_destructive";

    public static IReadOnlyList<string> DefaultActions { get; } = ["*.deleted", "*.removed", "*.destroyed"];

    public static IReadOnlyList<string> Groupings { get; } = ["actor", "tenant", "ledger"];

    public string Type => TypeName;

    public IReadOnlyDictionary<string, object?> Parameters => new Dictionary<string, object?>
    {
        ["actions"] = actions.Select(a => a.Text).ToList(),
        ["threshold"] = threshold,
        ["window_seconds"] = windowSeconds,
        ["group_by"] = groupBy,
        ["cooldown_seconds"] = cooldownSeconds,
    };

    public IEnumerable<string> StateKeys(EvaluatedEvent e) => Group(e) is { } group ? ["g:" + group] : [];

    public void Evaluate(EvaluatedEvent e, RuleState state, ICollection<AlertDraft> raised)
    {
        if (!ActionPattern.AnyMatches(actions, e.Action) || Group(e) is not { } group)
        {
            return;
        }

        var key = "g:" + group;
        var counter = state.Get(key, WindowCounter.Load) ?? new WindowCounter();
        var micros = e.ReceivedMicros;
        if (counter.Add(micros, threshold, windowSeconds * 1_000_000, cooldownSeconds * 1_000_000))
        {
            var who = groupBy switch
            {
                "actor" => $"Actor {e.ActorId}",
                "tenant" => $"Tenant {e.TenantId}",
                _ => "The ledger",
            };
            raised.Add(new AlertDraft(
                $"{group}\n{e.Seq.ToString(CultureInfo.InvariantCulture)}",
                e,
                $"{who} performed {threshold.ToString(CultureInfo.InvariantCulture)} destructive actions within {Durations.Describe(windowSeconds)} (last: {e.Action})",
                new Dictionary<string, object?>
                {
                    ["group_by"] = groupBy,
                    ["group"] = groupBy == "ledger" ? null : group,
                    ["count"] = threshold,
                    ["window_seconds"] = windowSeconds,
                    ["last_action"] = e.Action,
                    ["actor_id"] = e.ActorId,
                    ["tenant_id"] = e.TenantId,
                }));
        }

        state.Set(key, counter, c => c.Save());
    }

    private string? Group(EvaluatedEvent e) => groupBy switch
    {
        "actor" => e.ActorId,
        "tenant" => e.TenantId,
        _ => "*",
    };
}

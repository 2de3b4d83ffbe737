using System.Globalization;

namespace Stele.Server.Alerts.Rules;

/// <summary>
/// <c>repeated_action</c>: the same actor performs the same watched action at least
/// <c>threshold</c> times within a sliding window (by received time); then a cooldown.
/// </summary>
internal sealed class RepeatedActionRule(IReadOnlyList<ActionPattern> actions, int threshold, long windowSeconds, long cooldownSeconds) : IAlertRule
{
    public const string TypeName = "repeated_action";

    public string Type => TypeName;

    public IReadOnlyDictionary<string, object?> Parameters => new Dictionary<string, object?>
    {
        ["actions"] = actions.Select(a => a.Text).ToList(),
        ["threshold"] = threshold,
        ["window_seconds"] = windowSeconds,
        ["cooldown_seconds"] = cooldownSeconds,
    };

    public IEnumerable<string> StateKeys(EvaluatedEvent e) => ActionPattern.AnyMatches(actions, e.Action) ? [Key(e)] : [];

    public void Evaluate(EvaluatedEvent e, RuleState state, ICollection<AlertDraft> raised)
    {
        if (!ActionPattern.AnyMatches(actions, e.Action))
        {
            return;
        }

        var key = Key(e);
        var counter = state.Get(key, WindowCounter.Load) ?? new WindowCounter();
        var micros = e.ReceivedMicros;
        if (counter.Add(micros, threshold, windowSeconds * 1_000_000, cooldownSeconds * 1_000_000))
        {
            raised.Add(new AlertDraft(
                $"{e.ActorId}\n{e.Action}\n{e.Seq.ToString(CultureInfo.InvariantCulture)}",
                e,
                $"Actor {e.ActorId} performed {e.Action} {threshold.ToString(CultureInfo.InvariantCulture)} times within {Durations.Describe(windowSeconds)}",
                new Dictionary<string, object?>
                {
                    ["actor_id"] = e.ActorId,
                    ["action"] = e.Action,
                    ["count"] = threshold,
                    ["window_seconds"] = windowSeconds,
                }));
        }

        state.Set(key, counter, c => c.Save());
    }

    private static string Key(EvaluatedEvent e) => $"a:{e.ActorId}\n{e.Action}";
}

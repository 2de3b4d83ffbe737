using Stele.Server.Alerts;
using Stele.Server.Alerts.Rules;

namespace Stele.Server.Tests.Alerts;

/// <summary>
/// Drives one rule as the evaluation service does, on a clock the test controls: each
/// <see cref="Step"/> loads the keys its events need from a dictionary standing in for the store,
/// evaluates them in order and writes the changed state back as text, so state crosses steps the
/// way it crosses batches and restarts.
/// </summary>
internal sealed class RuleHarness(IAlertRule rule)
{
    private readonly Dictionary<string, string> _stored = new(StringComparer.Ordinal);
    private long _seq;

    public static readonly DateTimeOffset Monday = new(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);

    public DateTimeOffset Now { get; set; } = Monday;

    public IReadOnlyDictionary<string, string> Stored => _stored;

    public EvaluatedEvent Event(string actor = "u_9", string action = "document.deleted", string? tenant = null, string? country = null, DateTimeOffset? occurredAt = null) =>
        new(_seq++, $"evt_{_seq:D26}", actor, action, tenant, country, Now, occurredAt ?? Now);

    /// <summary>Evaluates the events as one step and returns what it raised.</summary>
    public List<AlertDraft> Step(params EvaluatedEvent[] events)
    {
        var keys = events.SelectMany(rule.StateKeys).ToHashSet(StringComparer.Ordinal);
        var state = new RuleState(_stored.Where(p => keys.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));
        var raised = new List<AlertDraft>();
        foreach (var e in events)
        {
            rule.Evaluate(e, state, raised);
        }

        foreach (var (key, value) in state.Changes)
        {
            if (value is null)
            {
                _stored.Remove(key);
            }
            else
            {
                _stored[key] = value;
            }
        }

        return raised;
    }

    /// <summary>One event now, as its own step.</summary>
    public List<AlertDraft> Send(string actor = "u_9", string action = "document.deleted", string? tenant = null, string? country = null, DateTimeOffset? occurredAt = null) =>
        Step(Event(actor, action, tenant, country, occurredAt));

    /// <summary><paramref name="count"/> events now, each its own step; the alerts of all of them.</summary>
    public List<AlertDraft> SendMany(int count, string actor = "u_9", string action = "document.deleted", string? tenant = null, TimeSpan? every = null)
    {
        var raised = new List<AlertDraft>();
        for (var i = 0; i < count; i++)
        {
            raised.AddRange(Send(actor, action, tenant));
            Now += every ?? TimeSpan.FromSeconds(1);
        }

        return raised;
    }
}

using System.Text.Json;
using Stele.Storage.Alerts;

namespace Stele.Server.Alerts;

/// <summary>Turns drafts into alert rows and one outbox row per destination of the rule.</summary>
internal sealed class AlertBatchBuilder(long ledgerId, DateTimeOffset now)
{
    private readonly List<AlertRecord> _alerts = [];
    private readonly List<AlertDeliveryRecord> _deliveries = [];
    private readonly List<RuleStateChange> _changes = [];

    public int AlertCount => _alerts.Count;

    public void Add(AlertRuleRecord rule, AlertDraft draft)
    {
        var alert = new AlertRecord
        {
            Id = AlertIds.NewAlert(now),
            LedgerId = ledgerId,
            RuleId = rule.Id,
            RuleType = rule.Type,
            RuleName = rule.Name,
            DedupeKey = draft.DedupeKey,
            Seq = draft.Event?.Seq,
            EventId = draft.Event?.Id,
            ActorId = draft.Event?.ActorId,
            Reason = draft.Reason,
            Details = JsonSerializer.Serialize(draft.Details),
            CreatedAt = now,
        };
        _alerts.Add(alert);
        foreach (var destination in rule.Destinations)
        {
            _deliveries.Add(new AlertDeliveryRecord
            {
                Id = AlertIds.NewDelivery(),
                AlertId = alert.Id,
                DestinationId = destination,
                LedgerId = ledgerId,
                State = AlertDeliveryRecord.Pending,
                Attempts = 0,
                NextAttemptAt = now,
                CreatedAt = now,
            });
        }
    }

    public void AddState(string ruleId, RuleState state)
    {
        foreach (var (key, value) in state.Changes)
        {
            _changes.Add(new RuleStateChange(ruleId, key, value));
        }
    }

    public AlertEvaluationBatch Build() => new() { Alerts = _alerts, Deliveries = _deliveries, StateChanges = _changes };
}

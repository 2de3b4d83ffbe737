namespace Stele.Server.Alerts;

/// <summary>An alert a rule raised, before it is stored. <see cref="DedupeKey"/> is unique per rule.</summary>
internal sealed record AlertDraft(
    string DedupeKey,
    EvaluatedEvent? Event,
    string Reason,
    IReadOnlyDictionary<string, object?> Details);

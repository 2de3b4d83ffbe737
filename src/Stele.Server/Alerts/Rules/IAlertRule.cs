namespace Stele.Server.Alerts.Rules;

/// <summary>
/// One rule type's logic over committed events, in seq order. Rules are pure: everything they
/// remember lives in <see cref="RuleState"/>, which is stored with the evaluation cursor, so a
/// restart resumes exactly where evaluation stopped and re-evaluating raises nothing twice.
/// </summary>
internal interface IAlertRule
{
    string Type { get; }

    /// <summary>The parameters in their normalised form (defaults filled in), as stored and shown.</summary>
    IReadOnlyDictionary<string, object?> Parameters { get; }

    /// <summary>The state keys evaluating <paramref name="e"/> may read, loaded before the step.</summary>
    IEnumerable<string> StateKeys(EvaluatedEvent e);

    void Evaluate(EvaluatedEvent e, RuleState state, ICollection<AlertDraft> raised);
}

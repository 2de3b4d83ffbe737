namespace Stele.Core.Events;

/// <summary>
/// Whether the recorded action succeeded (DESIGN.md, "Event fields": <c>outcome</c>).
/// Written on the wire as <c>success</c> or <c>failure</c>; see <see cref="EventOutcomeNames"/>.
/// </summary>
public enum EventOutcome
{
    /// <summary>The action succeeded (the default).</summary>
    Success = 0,

    /// <summary>The action was attempted and failed or was denied.</summary>
    Failure = 1,
}

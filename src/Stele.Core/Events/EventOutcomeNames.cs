namespace Stele.Core.Events;

/// <summary>The stable wire names of <see cref="EventOutcome"/>, pinned by the v1 leaf format.</summary>
public static class EventOutcomeNames
{
    /// <summary>Returns <c>success</c> or <c>failure</c>.</summary>
    public static string ToWireName(this EventOutcome outcome) => outcome switch
    {
        EventOutcome.Success => "success",
        EventOutcome.Failure => "failure",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "Unknown event outcome."),
    };

    /// <summary>Parses <c>success</c> or <c>failure</c> (exact, lowercase).</summary>
    public static bool TryParse(string? value, out EventOutcome outcome)
    {
        switch (value)
        {
            case "success":
                outcome = EventOutcome.Success;
                return true;
            case "failure":
                outcome = EventOutcome.Failure;
                return true;
            default:
                outcome = default;
                return false;
        }
    }
}

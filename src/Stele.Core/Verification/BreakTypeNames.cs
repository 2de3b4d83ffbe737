namespace Stele.Core.Verification;

/// <summary>The stable snake_case wire names of <see cref="BreakType"/> (DESIGN.md, "Integrity, version 1").</summary>
public static class BreakTypeNames
{
    /// <summary>Returns the wire name, for example <c>leaf_mismatch</c>.</summary>
    public static string ToWireName(this BreakType type) => type switch
    {
        BreakType.LeafMismatch => "leaf_mismatch",
        BreakType.PayloadMismatch => "payload_mismatch",
        BreakType.ChainBreak => "chain_break",
        BreakType.RootMismatch => "root_mismatch",
        BreakType.MissingEvent => "missing_event",
        BreakType.CheckpointInconsistent => "checkpoint_inconsistent",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown break type."),
    };

    /// <summary>Parses a wire name back to a <see cref="BreakType"/>.</summary>
    public static bool TryParse(string? name, out BreakType type)
    {
        foreach (var candidate in Enum.GetValues<BreakType>())
        {
            if (string.Equals(candidate.ToWireName(), name, StringComparison.Ordinal))
            {
                type = candidate;
                return true;
            }
        }

        type = default;
        return false;
    }
}

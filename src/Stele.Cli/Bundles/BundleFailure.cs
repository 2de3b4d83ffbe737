namespace Stele.Cli.Bundles;

/// <summary>
/// One thing in an export bundle that does not verify, naming the event by id and seq where there
/// is one (<paramref name="Line"/> is the 1-based line number in the bundle).
/// </summary>
internal sealed record BundleFailure(long Line, long? Seq, string? EventId, string Type, string Detail)
{
    public override string ToString()
    {
        var who = EventId is null && Seq is null ? $"line {Line}" : $"event {EventId ?? "?"} (seq {Seq?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}, line {Line})";
        return $"{Type}: {who}: {Detail}";
    }
}

using System.Globalization;

namespace Stele.Core.Events;

/// <summary>
/// The one time spelling of the v1 formats: RFC 3339 §5.6 in UTC with exactly six fractional
/// digits and <c>Z</c>, for example <c>2026-11-22T03:16:33.123456Z</c>. Times are truncated
/// (not rounded) to whole microseconds so that a time never moves into the next second.
/// </summary>
internal static class EventTime
{
    private const string Format = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'";

    public static DateTimeOffset Truncate(DateTimeOffset time)
    {
        var ticks = time.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % 10), TimeSpan.Zero);
    }

    public static string ToText(DateTimeOffset time) =>
        Truncate(time).UtcDateTime.ToString(Format, CultureInfo.InvariantCulture);

    public static bool TryParse(string text, out DateTimeOffset time)
    {
        if (text.Length == 27
            && DateTime.TryParseExact(
                text,
                Format,
                CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal,
                out var utc))
        {
            time = new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc));
            return true;
        }

        time = default;
        return false;
    }
}

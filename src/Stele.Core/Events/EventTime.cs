using System.Globalization;

namespace Stele.Core.Events;

/// <summary>
/// The one time spelling of the v1 formats: RFC 3339 §5.6 in UTC with exactly six fractional
/// digits and <c>Z</c>, for example <c>2026-11-22T03:16:33.123456Z</c>. Times are truncated
/// (not rounded) to whole microseconds so that a time never moves into the next second.
/// </summary>
/// <remarks>
/// Written and read digit by digit: every leaf holds two times, and the general date formatting and
/// parsing of .NET cost more than the rest of encoding or decoding a leaf. Years 0001–9999 only, as
/// <see cref="DateTimeOffset"/> allows.
/// </remarks>
internal static class EventTime
{
    /// <summary>The length of every time in the one spelling.</summary>
    internal const int Length = 27;

    public static DateTimeOffset Truncate(DateTimeOffset time)
    {
        var ticks = time.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % 10), TimeSpan.Zero);
    }

    public static string ToText(DateTimeOffset time) => string.Create(Length, Truncate(time).UtcDateTime, static (text, utc) =>
    {
        Digits(text[..4], utc.Year);
        text[4] = '-';
        Digits(text.Slice(5, 2), utc.Month);
        text[7] = '-';
        Digits(text.Slice(8, 2), utc.Day);
        text[10] = 'T';
        Digits(text.Slice(11, 2), utc.Hour);
        text[13] = ':';
        Digits(text.Slice(14, 2), utc.Minute);
        text[16] = ':';
        Digits(text.Slice(17, 2), utc.Second);
        text[19] = '.';
        Digits(text.Slice(20, 6), (int)(utc.Ticks % TimeSpan.TicksPerSecond / 10));
        text[26] = 'Z';
    });

    public static bool TryParse(string text, out DateTimeOffset time)
    {
        time = default;
        return text is not null && TryParse(text.AsSpan(), out time);
    }

    public static bool TryParse(ReadOnlySpan<char> text, out DateTimeOffset time)
    {
        time = default;
        if (text.Length != Length || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':'
            || text[19] != '.' || text[26] != 'Z'
            || !TryDigits(text[..4], out var year) || !TryDigits(text.Slice(5, 2), out var month) || !TryDigits(text.Slice(8, 2), out var day)
            || !TryDigits(text.Slice(11, 2), out var hour) || !TryDigits(text.Slice(14, 2), out var minute) || !TryDigits(text.Slice(17, 2), out var second)
            || !TryDigits(text.Slice(20, 6), out var micros)
            || year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var utc = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).AddTicks(micros * 10L);
        time = new DateTimeOffset(utc);
        return true;
    }

    /// <summary>The one spelling check used by tests: what <see cref="TryParse"/> accepts is what the general parser accepts for this format.</summary>
    internal static bool TryParseWithFormat(string text, out DateTimeOffset time)
    {
        if (text.Length == Length
            && DateTime.TryParseExact(
                text,
                "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'",
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

    private static void Digits(Span<char> destination, int value)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = (char)('0' + (value % 10));
            value /= 10;
        }
    }

    private static bool TryDigits(ReadOnlySpan<char> text, out int value)
    {
        value = 0;
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }
}

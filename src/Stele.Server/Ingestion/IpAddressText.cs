using System.Net;

namespace Stele.Server.Ingestion;

/// <summary>
/// Strict IP address parsing: IPv4 only as four dotted decimal parts, IPv6 without a zone.
/// <see cref="IPAddress.TryParse(string?, out IPAddress?)"/> alone also takes <c>"127"</c>
/// (0.0.0.127), <c>"1.2"</c> and octal or hex parts, which no client means.
/// </summary>
internal static class IpAddressText
{
    public static bool TryParse(ReadOnlySpan<char> text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.IsEmpty || text.Contains('%'))
        {
            return false;
        }

        if (!text.Contains(':') && !IsDottedQuad(text))
        {
            return false;
        }

        if (!IPAddress.TryParse(text, out var parsed))
        {
            return false;
        }

        address = parsed;
        return true;
    }

    private static bool IsDottedQuad(ReadOnlySpan<char> text)
    {
        var parts = 0;
        foreach (var range in text.Split('.'))
        {
            var part = text[range];
            if (part.Length is 0 or > 3 || !part.ContainsOnlyDigits() || (part.Length > 1 && part[0] == '0'))
            {
                return false;
            }

            parts++;
        }

        return parts == 4;
    }

    private static bool ContainsOnlyDigits(this ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}

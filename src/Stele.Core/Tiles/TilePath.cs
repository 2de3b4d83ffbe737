using System.Globalization;
using System.Text;

namespace Stele.Core.Tiles;

/// <summary>
/// Tile and entry-bundle paths of c2sp.org/tlog-tiles ("Merkle Tree" and "Log entries" sections):
/// <c>tile/&lt;L&gt;/&lt;N&gt;[.p/&lt;W&gt;]</c> and <c>tile/entries/&lt;N&gt;[.p/&lt;W&gt;]</c>, where
/// <c>&lt;N&gt;</c> is split into zero-padded 3-digit elements, all but the last prefixed with <c>x</c>
/// (1234067 → <c>x001/x234/067</c>), and <c>.p/&lt;W&gt;</c> appears only for partial tiles.
/// Parsing accepts only the canonical form, so each tile has exactly one path.
/// </summary>
public static class TilePath
{
    private const string Prefix = "tile/";
    private const string EntriesPrefix = "tile/entries/";
    private const string PartialMarker = ".p/";

    /// <summary>The path of a Merkle tree tile, relative to the log prefix.</summary>
    public static string Format(TileCoordinate tile)
    {
        var builder = new StringBuilder(Prefix, 32);
        builder.Append(tile.Level.ToString(CultureInfo.InvariantCulture)).Append('/');
        AppendIndexAndWidth(builder, tile.Index, tile.Width);
        return builder.ToString();
    }

    /// <summary>The path of the entry bundle with index <paramref name="index"/> holding <paramref name="width"/> entries.</summary>
    public static string FormatEntries(long index, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (width is < 1 or > TileCoordinate.FullWidth)
        {
            throw new ArgumentOutOfRangeException(nameof(width), width, $"Bundle width must be in [1, {TileCoordinate.FullWidth}].");
        }

        var builder = new StringBuilder(EntriesPrefix, 32);
        AppendIndexAndWidth(builder, index, width);
        return builder.ToString();
    }

    /// <summary>
    /// Parses a canonical tile or entry-bundle path. For an entry bundle, <paramref name="coordinate"/>
    /// has level 0 and <paramref name="isEntryBundle"/> is true. Returns false for anything else:
    /// missing or extra leading zeros, elements that are not exactly three digits, an <c>x</c> on the
    /// last element or missing on others, a non-canonical leading <c>x000</c>, widths outside 1..255
    /// after <c>.p/</c>, levels outside 0..63, indices beyond 2^63 - 1, stray characters.
    /// </summary>
    public static bool TryParse(string? path, out TileCoordinate coordinate, out bool isEntryBundle)
    {
        coordinate = default;
        isEntryBundle = false;
        if (path is null || !path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = path.AsSpan(Prefix.Length);
        var level = 0;
        if (rest.StartsWith("entries/", StringComparison.Ordinal))
        {
            isEntryBundle = true;
            rest = rest["entries/".Length..];
        }
        else
        {
            var slash = rest.IndexOf('/');
            if (slash < 0 || !TryParseDecimal(rest[..slash], TileCoordinate.MaxLevel, out level))
            {
                return false;
            }

            rest = rest[(slash + 1)..];
        }

        var width = TileCoordinate.FullWidth;
        var partial = rest.IndexOf(PartialMarker, StringComparison.Ordinal);
        if (partial >= 0)
        {
            if (!TryParseDecimal(rest[(partial + PartialMarker.Length)..], TileCoordinate.FullWidth - 1, out width) || width == 0)
            {
                return false;
            }

            rest = rest[..partial];
        }

        if (!TryParseIndex(rest, out var index))
        {
            return false;
        }

        coordinate = new TileCoordinate(level, index, width);
        return true;
    }

    private static void AppendIndexAndWidth(StringBuilder builder, long index, int width)
    {
        // Elements of three digits, most significant first: collect them, then write with x prefixes.
        Span<int> groups = stackalloc int[7];
        var count = 0;
        do
        {
            groups[count++] = (int)(index % 1000);
            index /= 1000;
        }
        while (index > 0);

        for (var i = count - 1; i >= 0; i--)
        {
            if (i > 0)
            {
                builder.Append('x');
            }

            builder.Append(groups[i].ToString("D3", CultureInfo.InvariantCulture));
            if (i > 0)
            {
                builder.Append('/');
            }
        }

        if (width != TileCoordinate.FullWidth)
        {
            builder.Append(PartialMarker).Append(width.ToString(CultureInfo.InvariantCulture));
        }
    }

    // A decimal with no sign and no leading zeros (except "0" itself), at most `max`.
    private static bool TryParseDecimal(ReadOnlySpan<char> text, int max, out int value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 3 || (text.Length > 1 && text[0] == '0'))
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return value <= max;
    }

    private static bool TryParseIndex(ReadOnlySpan<char> text, out long index)
    {
        index = 0;
        var first = true;
        while (true)
        {
            var slash = text.IndexOf('/');
            var element = slash < 0 ? text : text[..slash];
            var isLast = slash < 0;
            if (isLast ? element.Length != 3 : element.Length != 4 || element[0] != 'x')
            {
                return false;
            }

            var digits = isLast ? element : element[1..];
            var group = 0;
            foreach (var c in digits)
            {
                if (c is < '0' or > '9')
                {
                    return false;
                }

                group = (group * 10) + (c - '0');
            }

            // A leading x000 would give a second spelling of the same index.
            if (first && !isLast && group == 0)
            {
                return false;
            }

            if (index > (long.MaxValue - group) / 1000)
            {
                return false;
            }

            index = (index * 1000) + group;
            first = false;
            if (isLast)
            {
                return true;
            }

            text = text[(slash + 1)..];
        }
    }
}

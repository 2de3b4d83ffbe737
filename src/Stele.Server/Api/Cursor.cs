using System.Globalization;
using System.Text;

namespace Stele.Server.Api;

/// <summary>Opaque keyset cursors: base64url of <c>v1:&lt;seq&gt;</c> (events) or <c>k1:&lt;id&gt;</c> (lists keyed by id). Clients must not build them.</summary>
internal static class Cursor
{
    public static string Encode(long seq) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes("v1:" + seq.ToString(CultureInfo.InvariantCulture)))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static long Decode(string cursor)
    {
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            var text = Encoding.ASCII.GetString(Convert.FromBase64String(base64));
            if (text.StartsWith("v1:", StringComparison.Ordinal)
                && long.TryParse(text.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            {
                return seq;
            }
        }
        catch (FormatException)
        {
            // Reported below.
        }

        throw ApiException.Validation("The cursor is not valid; pass next_cursor from a previous page unchanged.", [new("cursor", "is not a valid cursor")]);
    }

    /// <summary>A cursor after the row with this id (for lists ordered by id).</summary>
    public static string EncodeId(string id) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes("k1:" + id)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string DecodeId(string cursor)
    {
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            if (text.StartsWith("k1:", StringComparison.Ordinal) && text.Length > 3 && text.Length <= 100 && !text.Any(char.IsControl))
            {
                return text[3..];
            }
        }
        catch (FormatException)
        {
            // Reported below.
        }

        throw ApiException.Validation("The cursor is not valid; pass next_cursor from a previous page unchanged.", [new("cursor", "is not a valid cursor")]);
    }
}

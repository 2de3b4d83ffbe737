namespace Stele.Core.Events;

/// <summary>
/// Event ids: <c>evt_</c> followed by a 26-character ULID in Crockford base32 (DESIGN.md, "Event
/// fields"): a 48-bit Unix millisecond timestamp and 80 random bits, so ids sort by time. Within
/// one millisecond (or if the clock steps back) this process increments the random part instead of
/// drawing a new one, so ids from one process are strictly increasing (the ULID monotonic rule).
/// </summary>
public static class EventId
{
    /// <summary>The id prefix.</summary>
    public const string Prefix = "evt_";

    /// <summary>Total length of an id: prefix plus 26 characters.</summary>
    public const int Length = 30;

    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private static readonly EventIdGenerator Shared = new();

    /// <summary>Returns a new id for an event received at <paramref name="now"/>.</summary>
    public static string New(DateTimeOffset now) => Shared.Next(now);

    /// <summary>True if <paramref name="value"/> is <c>evt_</c> plus a canonical (uppercase) ULID.</summary>
    public static bool IsValid(string? value)
    {
        if (value is null || value.Length != Length || !value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        // 26 base32 digits carry 130 bits; a ULID has 128, so the first digit is at most 7.
        if (value[Prefix.Length] > '7')
        {
            return false;
        }

        for (var i = Prefix.Length; i < Length; i++)
        {
            if (!Alphabet.Contains(value[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The millisecond timestamp encoded in a valid id.</summary>
    /// <exception cref="ArgumentException">The id is not valid.</exception>
    public static DateTimeOffset GetTimestamp(string id)
    {
        if (!IsValid(id))
        {
            throw new ArgumentException("Not a valid event id.", nameof(id));
        }

        UInt128 value = 0;
        for (var i = Prefix.Length; i < Length; i++)
        {
            value = (value << 5) | (uint)Alphabet.IndexOf(id[i], StringComparison.Ordinal);
        }

        return DateTimeOffset.FromUnixTimeMilliseconds((long)(ulong)(value >> 80));
    }

    internal static string Format(UInt128 value)
    {
        Span<char> chars = stackalloc char[Length];
        Prefix.AsSpan().CopyTo(chars);
        for (var i = Length - 1; i >= Prefix.Length; i--)
        {
            chars[i] = Alphabet[(int)(uint)(value & 31)];
            value >>= 5;
        }

        return new string(chars);
    }
}

using System.Security.Cryptography;

namespace Stele.Core.Events;

/// <summary>
/// The monotonic ULID state behind <see cref="EventId.New(DateTimeOffset)"/>: the last millisecond
/// and random part handed out. Separate from <see cref="EventId"/> so tests can own their state.
/// </summary>
internal sealed class EventIdGenerator
{
    private const long MaxTimestamp = (1L << 48) - 1;
    private static readonly UInt128 MaxRandom = (UInt128.One << 80) - 1;

    private readonly Lock _gate = new();
    private long _lastMilliseconds = -1;
    private UInt128 _lastRandom;

    public string Next(DateTimeOffset now)
    {
        var milliseconds = Math.Clamp(now.ToUnixTimeMilliseconds(), 0, MaxTimestamp);
        UInt128 random;
        lock (_gate)
        {
            if (milliseconds <= _lastMilliseconds && _lastRandom < MaxRandom)
            {
                // Same millisecond, or the clock stepped back: stay on the last millisecond and count up.
                milliseconds = _lastMilliseconds;
                random = _lastRandom + 1;
            }
            else
            {
                if (milliseconds <= _lastMilliseconds)
                {
                    // The random part ran out within one millisecond: borrow the next millisecond.
                    milliseconds = _lastMilliseconds + 1;
                }

                random = DrawRandom();
            }

            _lastMilliseconds = milliseconds;
            _lastRandom = random;
        }

        return EventId.Format(((UInt128)(ulong)milliseconds << 80) | random);
    }

    private static UInt128 DrawRandom()
    {
        Span<byte> bytes = stackalloc byte[10];
        RandomNumberGenerator.Fill(bytes);
        UInt128 value = 0;
        foreach (var b in bytes)
        {
            value = (value << 8) | b;
        }

        return value;
    }
}

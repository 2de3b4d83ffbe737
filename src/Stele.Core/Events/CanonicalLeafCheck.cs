using System.Buffers.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Stele.Core.Events;

/// <summary>
/// Checks that bytes are a canonical v1 leaf without decoding it, for verification, which reads only
/// a leaf's ledger, seq, id and payload digest: one forward pass with <see cref="Utf8JsonReader"/> that
/// allocates nothing. It accepts a leaf only when the bytes are exactly what <see cref="EventLeafV1"/>
/// writes for some leaf — members in the fixed order with the required ones present, every token where
/// the previous one ends (no whitespace), numbers and times in their one spelling, no escaped string
/// (an unescaped string of valid UTF-8 is written verbatim) — so whatever it accepts,
/// <see cref="EventLeafV1.Parse"/> decodes to the same fields. Anything else returns false, and the
/// caller decodes the leaf to name the problem (or to read a leaf whose strings are escaped).
/// </summary>
internal static class CanonicalLeafCheck
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 4 };

    /// <summary>Where a checked leaf holds its ledger name and event id (unescaped UTF-8), and its seq.</summary>
    internal readonly record struct Located(long Seq, Range Ledger, Range Id);

    /// <summary>
    /// True when <paramref name="leaf"/> is a canonical v1 leaf with no escaped string; then
    /// <paramref name="payloadDigest"/> (32 bytes) holds its payload digest.
    /// </summary>
    public static bool TryCheck(ReadOnlySpan<byte> leaf, Span<byte> payloadDigest, out Located located)
    {
        located = default;
        try
        {
            return Check(leaf, payloadDigest, ref located);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool Check(ReadOnlySpan<byte> leaf, Span<byte> payloadDigest, ref Located located)
    {
        var c = new Cursor(leaf);
        if (!c.Next(JsonTokenType.StartObject)
            || !c.Member(EventLeafV1.Names.V) || !c.Integer(out var v) || v != EventLeafV1.FormatVersion
            || !c.Member(EventLeafV1.Names.Ledger) || !c.Text(out var ledger)
            || !c.Member(EventLeafV1.Names.Seq) || !c.Integer(out var seq) || seq < 0
            || !c.Member(EventLeafV1.Names.Id) || !c.Text(out var id)
            || !c.Member(EventLeafV1.Names.ReceivedAt) || !c.Time()
            || !c.Member(EventLeafV1.Names.OccurredAt) || !c.Time()
            || !c.Member(EventLeafV1.Names.ActorId) || !c.Text(out _)
            || !c.OptionalText(EventLeafV1.Names.ActorType)
            || !c.Member(EventLeafV1.Names.Action) || !c.Text(out _)
            || !c.OptionalText(EventLeafV1.Names.ActionCategory)
            || !c.OptionalText(EventLeafV1.Names.Resource)
            || !c.OptionalText(EventLeafV1.Names.ResourceId)
            || !c.Targets()
            || !c.OptionalText(EventLeafV1.Names.TenantId)
            || !c.OptionalText(EventLeafV1.Names.SessionId)
            || !c.OptionalText(EventLeafV1.Names.IpCountry)
            || !c.Member(EventLeafV1.Names.Outcome) || !c.Text(out var outcome)
            || !(leaf[outcome].SequenceEqual("success"u8) || leaf[outcome].SequenceEqual("failure"u8)))
        {
            return false;
        }

        if (c.At(EventLeafV1.Names.Version) && (!c.Member(EventLeafV1.Names.Version) || !c.Integer(out var version) || version is < int.MinValue or > int.MaxValue))
        {
            return false;
        }

        if (!c.Member(EventLeafV1.Names.PayloadDigest) || !c.Text(out var digest) || !LowercaseHex(leaf[digest], payloadDigest)
            || !c.Next(JsonTokenType.EndObject) || !c.AtEnd)
        {
            return false;
        }

        located = new Located(seq, ledger, id);
        return true;
    }

    /// <summary>Decodes 64 lowercase hex digits (the only spelling the writer uses) into 32 bytes.</summary>
    private static bool LowercaseHex(ReadOnlySpan<byte> hex, Span<byte> destination)
    {
        if (hex.Length != 64 || destination.Length != 32)
        {
            return false;
        }

        for (var i = 0; i < 32; i++)
        {
            var high = Nibble(hex[2 * i]);
            var low = Nibble(hex[(2 * i) + 1]);
            if ((high | low) < 0)
            {
                return false;
            }

            destination[i] = (byte)((high << 4) | low);
        }

        return true;
    }

    private static int Nibble(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => -1,
    };

    /// <summary>A reader that also checks every token starts where the canonical spelling puts it.</summary>
    private ref struct Cursor(ReadOnlySpan<byte> leaf)
    {
        private Utf8JsonReader _reader = new(leaf, Options);
        private readonly int _length = leaf.Length;
        private bool _peeked;

        // Where the previous token ended, and what separates it from the next one.
        private long _end;
        private bool _afterName;
        private bool _afterOpen = true;

        public readonly bool AtEnd => _end == _length;

        /// <summary>Reads the next token (or takes the one <see cref="At"/> looked at) and checks its type and position.</summary>
        public bool Next(JsonTokenType type)
        {
            if (!_peeked && !Read())
            {
                return false;
            }

            _peeked = false;
            return _reader.TokenType == type;
        }

        /// <summary>True when the next token is the member name <paramref name="name"/> (it stays to be read).</summary>
        public bool At(ReadOnlySpan<byte> name)
        {
            if (!_peeked)
            {
                if (!Read())
                {
                    return false;
                }

                _peeked = true;
            }

            return _reader.TokenType == JsonTokenType.PropertyName && !_reader.ValueIsEscaped && _reader.ValueSpan.SequenceEqual(name);
        }

        public bool Member(ReadOnlySpan<byte> name) => At(name) && Next(JsonTokenType.PropertyName);

        /// <summary>An unescaped string of valid UTF-8: its bytes are exactly what the writer would write.</summary>
        public bool Text(out Range value)
        {
            value = default;
            if (!Next(JsonTokenType.String) || _reader.ValueIsEscaped || !Utf8.IsValid(_reader.ValueSpan))
            {
                return false;
            }

            var start = (int)_reader.TokenStartIndex + 1;
            value = start..(start + _reader.ValueSpan.Length);
            return true;
        }

        public bool OptionalText(ReadOnlySpan<byte> name) => !At(name) || (Member(name) && Text(out _));

        /// <summary>An integer in its one spelling (no sign on zero, no leading zero, fraction or exponent).</summary>
        public bool Integer(out long value)
        {
            value = 0;
            if (!Next(JsonTokenType.Number) || !_reader.TryGetInt64(out value))
            {
                return false;
            }

            Span<byte> canonical = stackalloc byte[20];
            return Utf8Formatter.TryFormat(value, canonical, out var written) && _reader.ValueSpan.SequenceEqual(canonical[..written]);
        }

        /// <summary>A time in the one spelling (<see cref="EventTime"/>).</summary>
        public bool Time()
        {
            if (!Next(JsonTokenType.String) || _reader.ValueIsEscaped || _reader.ValueSpan.Length != EventTime.Length)
            {
                return false;
            }

            Span<char> text = stackalloc char[EventTime.Length];
            return System.Text.Ascii.ToUtf16(_reader.ValueSpan, text, out _) == System.Buffers.OperationStatus.Done
                && EventTime.TryParse(text, out _);
        }

        /// <summary>The optional targets: a non-empty array (the writer leaves an empty one out) of {type, id?}.</summary>
        public bool Targets()
        {
            if (!At(EventLeafV1.Names.Targets))
            {
                return true;
            }

            if (!Member(EventLeafV1.Names.Targets) || !Next(JsonTokenType.StartArray))
            {
                return false;
            }

            var count = 0;
            while (true)
            {
                if (!Read())
                {
                    return false;
                }

                if (_reader.TokenType == JsonTokenType.EndArray)
                {
                    return count > 0;
                }

                _peeked = true;
                if (!Next(JsonTokenType.StartObject)
                    || !Member(EventLeafV1.Names.Type) || !Text(out _)
                    || !OptionalText(EventLeafV1.Names.Id)
                    || !Next(JsonTokenType.EndObject))
                {
                    return false;
                }

                count++;
            }
        }

        /// <summary>Reads a token; false when there is none or it is not where the canonical spelling puts it.</summary>
        private bool Read()
        {
            if (!_reader.Read())
            {
                return false;
            }

            var type = _reader.TokenType;
            var closes = type is JsonTokenType.EndObject or JsonTokenType.EndArray;
            // After a name one ":"; right after "{" or "[", or before "}" or "]", nothing; else one ",".
            var expected = !_afterName && (_afterOpen || closes) ? _end : _end + 1;

            if (_reader.TokenStartIndex != expected)
            {
                return false;
            }

            _end = _reader.TokenStartIndex + type switch
            {
                JsonTokenType.String or JsonTokenType.PropertyName => _reader.ValueSpan.Length + 2,
                JsonTokenType.Number => _reader.ValueSpan.Length,
                JsonTokenType.StartObject or JsonTokenType.EndObject or JsonTokenType.StartArray or JsonTokenType.EndArray => 1,
                _ => _length + 1,
            };
            _afterName = type == JsonTokenType.PropertyName;
            _afterOpen = type is JsonTokenType.StartObject or JsonTokenType.StartArray;
            return true;
        }
    }
}

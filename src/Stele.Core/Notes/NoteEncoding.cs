using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Stele.Core.Notes;

/// <summary>Encoding rules shared by keys, notes and signatures (c2sp.org/signed-note).</summary>
internal static class NoteEncoding
{
    /// <summary>
    /// Key names MUST be non-empty and MUST NOT contain Unicode spaces or <c>+</c> (signed-note
    /// §"Format"). Stele also refuses control characters and lone surrogates, because such a name
    /// could never appear in a valid note (notes are valid UTF-8 without control characters).
    /// </summary>
    public static bool IsValidKeyName(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (c == '+' || c < 0x20 || char.IsWhiteSpace(c))
            {
                return false;
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= name.Length || !char.IsLowSurrogate(name[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Decodes standard base64 (RFC 4648 §4) and accepts only the canonical encoding: no
    /// whitespace, correct padding, zero trailing bits. .NET's decoder alone skips whitespace and
    /// ignores trailing bits, which would let several strings stand for the same bytes.
    /// </summary>
    public static byte[]? DecodeCanonicalBase64(ReadOnlySpan<char> text)
    {
        if (text.Length == 0 || text.Length % 4 != 0)
        {
            return null;
        }

        foreach (var c in text)
        {
            if (!(c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '+' or '/' or '='))
            {
                return null;
            }
        }

        var buffer = new byte[text.Length / 4 * 3];
        if (!Convert.TryFromBase64Chars(text, buffer, out var written))
        {
            return null;
        }

        var bytes = written == buffer.Length ? buffer : buffer.AsSpan(0, written).ToArray();
        return Convert.ToBase64String(bytes).AsSpan().SequenceEqual(text) ? bytes : null;
    }

    /// <summary>Parses exactly eight hexadecimal digits as a big-endian uint32 key ID.</summary>
    public static bool TryParseKeyId(ReadOnlySpan<char> text, out uint keyId)
    {
        keyId = 0;
        if (text.Length != 8)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return uint.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out keyId);
    }

    /// <summary>
    /// <c>key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]</c>, big-endian
    /// (signed-note §"Signatures"). <paramref name="typedKey"/> is the type byte followed by the key.
    /// </summary>
    public static uint ComputeKeyId(string name, ReadOnlySpan<byte> typedKey)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[nameBytes.Length + 1 + typedKey.Length];
        nameBytes.CopyTo(input, 0);
        input[nameBytes.Length] = 0x0A;
        typedKey.CopyTo(input.AsSpan(nameBytes.Length + 1));
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        return BinaryPrimitives.ReadUInt32BigEndian(hash);
    }

    /// <summary>
    /// Checks the rules every signed note obeys (signed-note §"Format"): valid UTF-8 and no ASCII
    /// control characters other than newline. Returns a <see cref="NoteFormatException"/> code or null.
    /// </summary>
    public static string? CheckNoteBytes(ReadOnlySpan<byte> bytes)
    {
        // In UTF-8 every byte below 0x80 is an ASCII character, so a byte scan finds control characters.
        foreach (var b in bytes)
        {
            if (b < 0x20 && b != (byte)'\n')
            {
                return NoteFormatException.ControlCharacterCode;
            }
        }

        return System.Text.Unicode.Utf8.IsValid(bytes) ? null : NoteFormatException.InvalidUtf8Code;
    }

    public static string FormatKeyId(uint keyId) => keyId.ToString("x8", CultureInfo.InvariantCulture);
}

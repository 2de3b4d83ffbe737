using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Stele.Core.Events;

/// <summary>
/// Writes the one JSON spelling the v1 event formats pin (DESIGN.md, "Integrity, version 1"):
/// compact (no whitespace), members in the order written, strings as raw UTF-8 with only
/// <c>"</c>, <c>\</c> and U+0000–U+001F escaped (<c>\b \t \n \f \r</c>, else <c>\u00xx</c> in
/// lowercase hex, RFC 8259 §7). Utf8JsonWriter's encoders escape more (or differently), so the
/// hashed bytes are produced here instead.
/// </summary>
internal sealed class CanonicalJsonWriter
{
    /// <summary>How deep metadata may nest inside its own object (the object itself is depth 1).</summary>
    public const int MaxMetadataDepth = 64;

    /// <summary>Characters written without escaping or transcoding: U+0020–U+007E except <c>"</c> and <c>\</c>.</summary>
    private static readonly SearchValues<char> Verbatim = SearchValues.Create(
        string.Concat(Enumerable.Range(0x20, 0x7F - 0x20).Select(c => (char)c).Where(c => c is not ('"' or '\\'))));

    private readonly ArrayBufferWriter<byte> _buffer = new(512);

    // One writer per thread, reused by Encode and Encodes: the writes they run never nest.
    [ThreadStatic]
    private static CanonicalJsonWriter? t_reused;

    // One flag per open container: true until its first member or element is written.
    private readonly Stack<bool> _first = new();
    private bool _afterName;

    /// <summary>The canonical bytes of <paramref name="value"/> as <paramref name="write"/> writes it, in a new array.</summary>
    public static byte[] Encode<T>(T value, Action<CanonicalJsonWriter, T> write)
    {
        var w = Reused();
        write(w, value);
        return w.ToArray();
    }

    /// <summary>True when <paramref name="bytes"/> are exactly the canonical bytes of <paramref name="value"/> (compared in a reused buffer).</summary>
    public static bool Encodes<T>(T value, Action<CanonicalJsonWriter, T> write, ReadOnlySpan<byte> bytes)
    {
        var w = Reused();
        write(w, value);
        return w.Written.SequenceEqual(bytes);
    }

    private static CanonicalJsonWriter Reused()
    {
        var w = t_reused ??= new CanonicalJsonWriter();
        w.Reset();
        return w;
    }

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

    /// <summary>Starts over, keeping the buffer (a writer reused for many values).</summary>
    public void Reset()
    {
        _buffer.ResetWrittenCount();
        _first.Clear();
        _afterName = false;
    }

    public void StartObject()
    {
        BeforeValue();
        Append((byte)'{');
        _first.Push(true);
    }

    public void EndObject()
    {
        _first.Pop();
        Append((byte)'}');
    }

    public void StartArray()
    {
        BeforeValue();
        Append((byte)'[');
        _first.Push(true);
    }

    public void EndArray()
    {
        _first.Pop();
        Append((byte)']');
    }

    public void Name(string name)
    {
        Separate();
        WriteQuoted(name, "member name");
        Append((byte)':');
        _afterName = true;
    }

    public void String(string value)
    {
        BeforeValue();
        WriteQuoted(value, "string");
    }

    public void Number(long value)
    {
        BeforeValue();
        Ascii(value.ToString(CultureInfo.InvariantCulture));
    }

    public void Literal(string asciiToken)
    {
        BeforeValue();
        Ascii(asciiToken);
    }

    public void Property(string name, string value)
    {
        Name(name);
        String(value);
    }

    public void OptionalProperty(string name, string? value)
    {
        if (value is not null)
        {
            Property(name, value);
        }
    }

    /// <summary>
    /// Re-emits a JSON value with the canonical escaping, keeping member order (and any duplicate
    /// members) as given and numbers as their original text.
    /// </summary>
    public void Element(JsonElement element, int depth)
    {
        if (depth > MaxMetadataDepth)
        {
            throw new ArgumentException($"Metadata nests deeper than {MaxMetadataDepth} levels.");
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                StartObject();
                foreach (var property in element.EnumerateObject())
                {
                    Name(ReadString(() => property.Name));
                    Element(property.Value, depth + 1);
                }

                EndObject();
                break;
            case JsonValueKind.Array:
                StartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Element(item, depth + 1);
                }

                EndArray();
                break;
            case JsonValueKind.String:
                String(ReadString(() => element.GetString()!));
                break;
            case JsonValueKind.Number:
                // The original number text, so 1.0, 1e3 and 12345678901234567890 survive unchanged.
                Literal(element.GetRawText());
                break;
            case JsonValueKind.True:
                Literal("true");
                break;
            case JsonValueKind.False:
                Literal("false");
                break;
            case JsonValueKind.Null:
                Literal("null");
                break;
            default:
                throw new ArgumentException($"A JSON value of kind {element.ValueKind} cannot be encoded.");
        }
    }

    public byte[] ToArray()
    {
        if (_first.Count != 0)
        {
            throw new InvalidOperationException("Unbalanced JSON containers.");
        }

        return _buffer.WrittenSpan.ToArray();
    }

    private static string ReadString(Func<string> read)
    {
        try
        {
            return read();
        }
        catch (InvalidOperationException ex)
        {
            // System.Text.Json refuses to unescape invalid UTF-16 (a lone surrogate escape).
            throw new ArgumentException("Metadata contains a string that is not valid Unicode.", ex);
        }
    }

    private void BeforeValue()
    {
        if (_afterName)
        {
            _afterName = false;
            return;
        }

        Separate();
    }

    private void Separate()
    {
        if (_first.Count == 0)
        {
            return;
        }

        if (_first.Peek())
        {
            _first.Pop();
            _first.Push(false);
        }
        else
        {
            Append((byte)',');
        }
    }

    private void WriteQuoted(string value, string what)
    {
        Append((byte)'"');
        var rest = value.AsSpan();
        while (!rest.IsEmpty)
        {
            // Runs of characters written as they are (printable ASCII other than the quote and the backslash) are copied in one go.
            var run = rest.IndexOfAnyExcept(Verbatim);
            if (run < 0)
            {
                run = rest.Length;
            }

            if (run > 0)
            {
                var span = _buffer.GetSpan(run);
                System.Text.Ascii.FromUtf16(rest[..run], span, out var copied);
                _buffer.Advance(copied);
                rest = rest[run..];
                continue;
            }

            var c = rest[0];
            if (c < 0x80)
            {
                WriteAsciiChar(c);
                rest = rest[1..];
                continue;
            }

            if (Rune.DecodeFromUtf16(rest, out var rune, out var consumed) != OperationStatus.Done)
            {
                throw new ArgumentException(
                    $"A {what} contains a lone surrogate (U+{(int)c:X4}) at index {value.Length - rest.Length}; it cannot be encoded as UTF-8.");
            }

            var utf8 = _buffer.GetSpan(4);
            _buffer.Advance(rune.EncodeToUtf8(utf8));
            rest = rest[consumed..];
        }

        Append((byte)'"');
    }

    private void WriteAsciiChar(char c)
    {
        switch (c)
        {
            case '"':
                Ascii("\\\"");
                break;
            case '\\':
                Ascii("\\\\");
                break;
            case '\b':
                Ascii("\\b");
                break;
            case '\t':
                Ascii("\\t");
                break;
            case '\n':
                Ascii("\\n");
                break;
            case '\f':
                Ascii("\\f");
                break;
            case '\r':
                Ascii("\\r");
                break;
            default:
                if (c < 0x20)
                {
                    Ascii("\\u00");
                    Ascii(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                }
                else
                {
                    Append((byte)c);
                }

                break;
        }
    }

    private void Ascii(string ascii)
    {
        var span = _buffer.GetSpan(ascii.Length);
        for (var i = 0; i < ascii.Length; i++)
        {
            span[i] = (byte)ascii[i];
        }

        _buffer.Advance(ascii.Length);
    }

    private void Append(byte b)
    {
        _buffer.GetSpan(1)[0] = b;
        _buffer.Advance(1);
    }
}

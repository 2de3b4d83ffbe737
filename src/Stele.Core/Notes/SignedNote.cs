using System.Buffers.Binary;
using System.Text;

namespace Stele.Core.Notes;

/// <summary>
/// A parsed, not yet verified, signed note (c2sp.org/signed-note §"Format"): a text ending in a
/// newline, a blank line, and one or more signature lines. The text MUST be ignored until
/// <see cref="NoteVerifier"/> has checked a signature by a trusted key.
/// </summary>
public sealed class SignedNote
{
    /// <summary>
    /// The most signature lines Stele reads from one note. The spec requires accepting at least 16
    /// and advises a limit; 100 matches golang.org/x/mod/sumdb/note.
    /// </summary>
    public const int MaxSignatures = 100;

    // "— " : U+2014 EM DASH (E2 80 94) then a space, the signature line prefix.
    private static ReadOnlySpan<byte> SignaturePrefix => [0xE2, 0x80, 0x94, 0x20];

    private readonly byte[] _text;

    private SignedNote(byte[] text, IReadOnlyList<NoteSignature> signatures)
    {
        _text = text;
        Text = Encoding.UTF8.GetString(text);
        Signatures = signatures;
    }

    /// <summary>The note text, final newline included, separating blank line excluded.</summary>
    public string Text { get; }

    /// <summary>The UTF-8 bytes of <see cref="Text"/>: what the signatures sign.</summary>
    public ReadOnlySpan<byte> TextBytes => _text;

    /// <summary>The signature lines in note order.</summary>
    public IReadOnlyList<NoteSignature> Signatures { get; }

    internal byte[] TextBuffer => _text;

    /// <summary>Parses a signed note without verifying it.</summary>
    /// <exception cref="NoteFormatException">The bytes are not a well-formed signed note.</exception>
    public static SignedNote Parse(ReadOnlySpan<byte> note)
    {
        var problem = NoteEncoding.CheckNoteBytes(note);
        if (problem is not null)
        {
            throw new NoteFormatException(problem, problem == NoteFormatException.InvalidUtf8Code
                ? "A signed note must be valid UTF-8."
                : "A signed note must not contain ASCII control characters other than newline.");
        }

        // The text is separated from the signatures by the last empty line: the text may itself
        // contain empty lines (signed-note §"Format").
        var split = note.LastIndexOf("\n\n"u8);
        if (split < 0)
        {
            throw new NoteFormatException(NoteFormatException.MissingSignaturesCode,
                "A signed note needs a blank line followed by signature lines.");
        }

        var text = note[..(split + 1)];
        var lines = note[(split + 2)..];
        if (lines.IsEmpty)
        {
            throw new NoteFormatException(NoteFormatException.MissingSignaturesCode,
                "A signed note needs at least one signature line after the blank line.");
        }

        if (lines[^1] != (byte)'\n')
        {
            throw new NoteFormatException(NoteFormatException.MissingFinalNewlineCode,
                "The last signature line of a note must end with a newline.");
        }

        var signatures = new List<NoteSignature>();
        while (!lines.IsEmpty)
        {
            var end = lines.IndexOf((byte)'\n');
            if (signatures.Count == MaxSignatures)
            {
                throw new NoteFormatException(NoteFormatException.TooManySignaturesCode,
                    $"A signed note may carry at most {MaxSignatures} signatures.");
            }

            signatures.Add(ParseSignatureLine(lines[..end], signatures.Count + 1));
            lines = lines[(end + 1)..];
        }

        return new SignedNote(text.ToArray(), signatures);
    }

    private static NoteSignature ParseSignatureLine(ReadOnlySpan<byte> line, int number)
    {
        if (!line.StartsWith(SignaturePrefix))
        {
            throw MalformedLine(number, "does not start with an em dash and a space");
        }

        line = line[SignaturePrefix.Length..];
        var space = line.IndexOf((byte)' ');
        if (space < 0)
        {
            throw MalformedLine(number, "has no space between key name and signature");
        }

        // Valid UTF-8 was checked for the whole note, so these conversions are exact.
        var name = Encoding.UTF8.GetString(line[..space]);
        if (!NoteEncoding.IsValidKeyName(name))
        {
            throw MalformedLine(number, "has an invalid key name");
        }

        var base64 = Encoding.UTF8.GetString(line[(space + 1)..]);
        var decoded = NoteEncoding.DecodeCanonicalBase64(base64);

        // Four bytes of key ID and at least one byte of signature (as x/mod requires).
        if (decoded is null || decoded.Length < 5)
        {
            throw MalformedLine(number, "has a signature that is not canonical base64 of a key ID and signature");
        }

        return new NoteSignature(name, BinaryPrimitives.ReadUInt32BigEndian(decoded), decoded[4..], base64);
    }

    private static NoteFormatException MalformedLine(int number, string what) =>
        new(NoteFormatException.MalformedSignatureLineCode, $"Signature line {number} {what}.");

    /// <summary>The note bytes: text, blank line, signature lines.</summary>
    public byte[] Format()
    {
        var builder = new StringBuilder(Text);
        builder.Append('\n');
        foreach (var signature in Signatures)
        {
            builder.Append("\u2014 ").Append(signature.KeyName).Append(' ').Append(signature.Base64).Append('\n');
        }

        return Encoding.UTF8.GetBytes(builder.ToString());
    }
}

using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;

namespace Stele.Core.Notes;

/// <summary>Signs note texts with Ed25519 signer keys (c2sp.org/signed-note §"Ed25519 signatures").</summary>
public static class NoteSigner
{
    private const int SignatureWithKeyIdSize = 4 + NoteVerifierKey.Ed25519SignatureSize;
    private static readonly int Base64Length = ((SignatureWithKeyIdSize + 2) / 3) * 4;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Signs <paramref name="text"/> with each key and returns the note bytes: the text, a blank
    /// line and one signature line per key, in the order given.
    /// </summary>
    /// <exception cref="NoteFormatException">The text does not end with a newline, has control characters, or is not valid Unicode.</exception>
    /// <exception cref="ArgumentException">No keys, or more than <see cref="SignedNote.MaxSignatures"/>.</exception>
    public static byte[] Sign(string text, params NoteSignerKey[] keys)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes;
        try
        {
            bytes = StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException)
        {
            throw new NoteFormatException(NoteFormatException.InvalidUtf8Code, "A note text must be valid Unicode (no lone surrogates).");
        }

        return Sign(bytes, bytes.Length, keys);
    }

    /// <summary>
    /// Signs the UTF-8 text <paramref name="text"/>[0..<paramref name="textLength"/>) and writes the
    /// note in one buffer. The text sits at the start of that buffer, so it is signed in place.
    /// </summary>
    internal static byte[] Sign(byte[] text, int textLength, NoteSignerKey[] keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Length == 0 || keys.Length > SignedNote.MaxSignatures)
        {
            throw new ArgumentException($"A note needs between 1 and {SignedNote.MaxSignatures} signer keys.", nameof(keys));
        }

        var span = text.AsSpan(0, textLength);
        if (textLength == 0 || span[^1] != (byte)'\n')
        {
            throw new NoteFormatException(NoteFormatException.MissingFinalNewlineCode, "A note text must end with a newline.");
        }

        var problem = NoteEncoding.CheckNoteBytes(span);
        if (problem is not null)
        {
            throw new NoteFormatException(problem, "A note text must be valid UTF-8 without control characters other than newline.");
        }

        var prefixes = new byte[keys.Length][];
        var total = textLength + 1;
        for (var i = 0; i < keys.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(keys[i], nameof(keys));
            prefixes[i] = keys[i].SignatureLinePrefix;
            total += prefixes[i].Length + Base64Length + 1;
        }

        var note = new byte[total];
        span.CopyTo(note);
        note[textLength] = (byte)'\n';
        var position = textLength + 1;
        var signature = new byte[SignatureWithKeyIdSize];
        for (var i = 0; i < keys.Length; i++)
        {
            // Signature line: "— " name " " base64(key ID ‖ signature) "\n" (signed-note §"Signatures").
            BinaryPrimitives.WriteUInt32BigEndian(signature, keys[i].KeyId);
            keys[i].Sign(note, textLength, signature, 4);
            prefixes[i].CopyTo(note, position);
            position += prefixes[i].Length;
            Base64.EncodeToUtf8(signature, note.AsSpan(position), out _, out var written);
            position += written;
            note[position++] = (byte)'\n';
        }

        return note;
    }
}

using Stele.Core.Errors;

namespace Stele.Core.Notes;

/// <summary>
/// The bytes are not a well-formed signed note (c2sp.org/signed-note §"Format"), or a text handed
/// to the signer cannot be the text of one.
/// </summary>
public sealed class NoteFormatException : SteleFormatException
{
    /// <summary>The note is not valid UTF-8.</summary>
    public const string InvalidUtf8Code = "note_invalid_utf8";

    /// <summary>The note contains an ASCII control character other than newline.</summary>
    public const string ControlCharacterCode = "note_control_character";

    /// <summary>There is no blank line followed by at least one signature line.</summary>
    public const string MissingSignaturesCode = "note_missing_signatures";

    /// <summary>The note (or a text to sign) does not end with a newline.</summary>
    public const string MissingFinalNewlineCode = "note_missing_final_newline";

    /// <summary>A line after the blank line is not <c>— name base64</c>.</summary>
    public const string MalformedSignatureLineCode = "note_malformed_signature_line";

    /// <summary>More signature lines than <see cref="SignedNote.MaxSignatures"/>.</summary>
    public const string TooManySignaturesCode = "note_too_many_signatures";

    internal NoteFormatException(string code, string message)
        : base(code, message)
    {
    }
}

using Stele.Core.Errors;

namespace Stele.Core.Notes;

/// <summary>
/// A verifier key (<c>name+keyid+base64</c>) or signer key (<c>PRIVATE+KEY+name+keyid+base64</c>)
/// does not follow c2sp.org/signed-note, or uses a signature type Stele cannot handle.
/// </summary>
public sealed class NoteKeyFormatException : SteleFormatException
{
    /// <summary>The key does not have the expected number of <c>+</c>-separated parts.</summary>
    public const string MalformedCode = "note_key_malformed";

    /// <summary>The key name is empty, contains a space, a <c>+</c>, a control character or invalid UTF-16.</summary>
    public const string InvalidNameCode = "note_key_invalid_name";

    /// <summary>The key ID is not exactly 8 hexadecimal digits.</summary>
    public const string InvalidKeyIdCode = "note_key_invalid_key_id";

    /// <summary>The key material is not canonical standard base64.</summary>
    public const string InvalidEncodingCode = "note_key_invalid_encoding";

    /// <summary>The key ID does not match the one computed from the name and key material.</summary>
    public const string KeyIdMismatchCode = "note_key_id_mismatch";

    /// <summary>The signature type byte is not one Stele knows.</summary>
    public const string UnsupportedTypeCode = "note_key_unsupported_type";

    /// <summary>The key material has the wrong length or structure for its signature type.</summary>
    public const string InvalidKeyCode = "note_key_invalid_key";

    internal NoteKeyFormatException(string code, string message)
        : base(code, message)
    {
    }
}

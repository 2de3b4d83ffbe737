namespace Stele.Core.Notes;

/// <summary>
/// The signature type identifier bytes assigned by c2sp.org/signed-note §"Signature types".
/// The byte is the first byte of an encoded verifier key and takes part in the key ID.
/// </summary>
public enum NoteSignatureType : byte
{
    /// <summary><c>0x01</c>: Ed25519 over the note text (signed-note §"Ed25519 signatures"). Stele signs with this.</summary>
    Ed25519 = 0x01,

    /// <summary><c>0x02</c>: ECDSA as implemented by transparency-dev/witness; the key is a DER SPKI.</summary>
    Ecdsa = 0x02,

    /// <summary><c>0x04</c>: timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature).</summary>
    CosignatureV1 = 0x04,

    /// <summary><c>0x05</c>: RFC 6962 <c>TreeHeadSignature</c>s (c2sp.org/static-ct-api).</summary>
    Rfc6962TreeHead = 0x05,
}

namespace Stele.Core.Notes;

/// <summary>Why a well-formed note was not accepted (c2sp.org/signed-note §"Signatures").</summary>
public enum NoteVerificationFailure
{
    /// <summary>No signature from a known, verifiable key: the note MUST be rejected.</summary>
    NoVerifiableSignature,

    /// <summary>A signature from a known key did not verify: Stele rejects the whole note, as the spec advises.</summary>
    InvalidSignature,

    /// <summary>Two of the given verifier keys share the signature's name and key ID, so it is unclear which one applies.</summary>
    AmbiguousKey,
}

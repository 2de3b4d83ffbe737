namespace Stele.Core.Notes;

/// <summary>
/// A note with at least one signature verified by a trusted key: its text may now be used.
/// </summary>
public sealed class VerifiedNote
{
    internal VerifiedNote(SignedNote note, IReadOnlyList<NoteSignature> verified, IReadOnlyList<NoteSignature> unverified)
    {
        Note = note;
        VerifiedSignatures = verified;
        UnverifiedSignatures = unverified;
    }

    /// <summary>The parsed note.</summary>
    public SignedNote Note { get; }

    /// <summary>The note text, final newline included.</summary>
    public string Text => Note.Text;

    /// <summary>Signatures by known keys that verified, one per key, in note order.</summary>
    public IReadOnlyList<NoteSignature> VerifiedSignatures { get; }

    /// <summary>
    /// Signatures that were not checked: by keys not given to the verifier (the spec says to ignore
    /// them), or by given keys whose type Stele cannot verify (<see cref="NoteVerifierKey.CanVerify"/>).
    /// Repeated identical lines appear once.
    /// </summary>
    public IReadOnlyList<NoteSignature> UnverifiedSignatures { get; }
}

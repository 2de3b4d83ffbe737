using Stele.Core.Notes;

namespace Stele.Core.Checkpoints;

/// <summary>
/// Opens signed checkpoints: verifies the note against trusted log keys (any one verified
/// signature suffices, which allows key rotation), then parses the body strictly.
/// Immutable and thread-safe.
/// </summary>
public sealed class CheckpointVerifier
{
    private readonly NoteVerifier _verifier;

    /// <summary>Trusts checkpoints signed by any of <paramref name="keys"/>.</summary>
    public CheckpointVerifier(params NoteVerifierKey[] keys)
        : this((IEnumerable<NoteVerifierKey>)keys)
    {
    }

    /// <summary>Trusts checkpoints signed by any of <paramref name="keys"/>.</summary>
    public CheckpointVerifier(IEnumerable<NoteVerifierKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var list = keys.ToArray();
        if (list.Length == 0)
        {
            throw new ArgumentException("A checkpoint verifier needs at least one key.", nameof(keys));
        }

        _verifier = new NoteVerifier(list);
    }

    /// <summary>Verifies the signed note and returns its checkpoint.</summary>
    /// <exception cref="NoteFormatException">The note is malformed.</exception>
    /// <exception cref="NoteVerificationException">No trusted signature verifies, or one is forged.</exception>
    /// <exception cref="CheckpointFormatException">The verified text is not a checkpoint Stele accepts.</exception>
    public Checkpoint Open(ReadOnlySpan<byte> signedNote)
    {
        // The text is only looked at once a trusted signature over it has verified (signed-note: "The
        // text MUST be ignored unless the note is signed by a trusted key").
        var note = _verifier.Open(signedNote);
        return Checkpoint.Parse(note.Text);
    }

    /// <summary>Like <see cref="Open(ReadOnlySpan{byte})"/>, and also requires the origin to be <paramref name="expectedOrigin"/>.</summary>
    /// <exception cref="CheckpointOriginMismatchException">The checkpoint is for another log.</exception>
    public Checkpoint Open(ReadOnlySpan<byte> signedNote, string expectedOrigin)
    {
        ArgumentNullException.ThrowIfNull(expectedOrigin);
        var checkpoint = Open(signedNote);
        if (!string.Equals(checkpoint.Origin, expectedOrigin, StringComparison.Ordinal))
        {
            throw new CheckpointOriginMismatchException(expectedOrigin, checkpoint.Origin);
        }

        return checkpoint;
    }
}

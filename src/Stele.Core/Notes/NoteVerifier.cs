namespace Stele.Core.Notes;

/// <summary>
/// Opens signed notes against a fixed set of trusted verifier keys, following
/// c2sp.org/signed-note §"Signatures" and the behaviour of golang.org/x/mod/sumdb/note.Open.
/// Immutable and thread-safe once built.
/// </summary>
public sealed class NoteVerifier
{
    private readonly Dictionary<(string Name, uint KeyId), NoteVerifierKey[]> _keys;

    /// <summary>Trusts <paramref name="keys"/>. Listing two keys with the same name and key ID makes signatures under that pair ambiguous.</summary>
    public NoteVerifier(IEnumerable<NoteVerifierKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = keys
            .GroupBy(k => (k.Name, k.KeyId))
            .ToDictionary(g => g.Key, g => g.ToArray());
    }

    /// <summary>Parses and verifies <paramref name="note"/> against <paramref name="keys"/>.</summary>
    /// <exception cref="NoteFormatException">The note is malformed.</exception>
    /// <exception cref="NoteVerificationException">No trusted signature verifies, one fails, or a key is ambiguous.</exception>
    public static VerifiedNote Open(ReadOnlySpan<byte> note, IEnumerable<NoteVerifierKey> keys) =>
        new NoteVerifier(keys).Open(note);

    /// <summary>Parses and verifies <paramref name="note"/>.</summary>
    /// <exception cref="NoteFormatException">The note is malformed.</exception>
    /// <exception cref="NoteVerificationException">No trusted signature verifies, one fails, or a key is ambiguous.</exception>
    public VerifiedNote Open(ReadOnlySpan<byte> note) => Verify(SignedNote.Parse(note));

    /// <summary>Verifies an already parsed note.</summary>
    /// <exception cref="NoteVerificationException">No trusted signature verifies, one fails, or a key is ambiguous.</exception>
    public VerifiedNote Verify(SignedNote note)
    {
        ArgumentNullException.ThrowIfNull(note);
        var verified = new List<NoteSignature>();
        var unverified = new List<NoteSignature>();
        var seenVerified = new HashSet<(string, uint)>();
        var seenUnverified = new HashSet<string>(StringComparer.Ordinal);

        foreach (var signature in note.Signatures)
        {
            var id = (signature.KeyName, signature.KeyId);

            // Signatures from unknown keys MUST be ignored, even if they share a name or an ID
            // (but not both) with a known key.
            if (!_keys.TryGetValue(id, out var candidates) || !candidates[0].CanVerify)
            {
                if (seenUnverified.Add($"{signature.KeyName} {signature.Base64}"))
                {
                    unverified.Add(signature);
                }

                continue;
            }

            if (candidates.Length > 1)
            {
                throw NoteVerificationException.AmbiguousKey(signature.KeyName, signature.KeyId);
            }

            // One verified signature per key is enough; repeats are dropped like x/mod does.
            if (!seenVerified.Add(id))
            {
                continue;
            }

            // A known key's signature MUST be verified; if it fails, Stele rejects the whole note
            // (the spec's SHOULD) rather than trusting a note that carries a forged line.
            if (!candidates[0].Verify(note.TextBuffer, note.TextBuffer.Length, signature.Signature))
            {
                throw NoteVerificationException.InvalidSignature(signature.KeyName, signature.KeyId);
            }

            verified.Add(signature);
        }

        if (verified.Count == 0)
        {
            throw NoteVerificationException.NoVerifiableSignature(note.Signatures.Count);
        }

        return new VerifiedNote(note, verified, unverified);
    }
}

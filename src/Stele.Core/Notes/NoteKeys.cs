using System.Security.Cryptography;

namespace Stele.Core.Notes;

/// <summary>Creates new note signing keys.</summary>
public static class NoteKeys
{
    /// <summary>
    /// Generates a new Ed25519 signer key named <paramref name="name"/> from 32 bytes of
    /// <see cref="RandomNumberGenerator"/> output (an RFC 8032 §5.1.5 seed).
    /// </summary>
    /// <exception cref="ArgumentException">The name breaks the signed-note key name rules.</exception>
    public static NoteSignerKey Generate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Span<byte> seed = stackalloc byte[32];
        RandomNumberGenerator.Fill(seed);
        try
        {
            return NoteSignerKey.FromSeed(name, seed);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }
}

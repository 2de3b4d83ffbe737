using System.Security.Cryptography;

namespace Stele.Core.Hashing;

/// <summary>
/// SHA-256 of a whole input through a per-thread reused <see cref="IncrementalHash"/>. On Linux the
/// one-shot <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/> creates and frees an OpenSSL
/// digest context on every call, which costs about as much as hashing a few hundred bytes
/// (docs/BENCHMARKS.md, "Integrity core"); payload digests and chain links are hashed once per event.
/// </summary>
internal static class Sha256Digest
{
    public const int Size = 32;

    [ThreadStatic]
    private static IncrementalHash? t_hasher;

    /// <summary>Writes SHA-256(<paramref name="input"/>) to <paramref name="destination"/> (32 bytes).</summary>
    public static void Hash(ReadOnlySpan<byte> input, Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"The destination must hold {Size} bytes, got {destination.Length}.", nameof(destination));
        }

        // Nothing can re-enter between AppendData and TryGetHashAndReset on one thread, so the state never leaks between calls.
        var hasher = t_hasher ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hasher.AppendData(input);
        if (!hasher.TryGetHashAndReset(destination, out _))
        {
            throw new InvalidOperationException("SHA-256 did not fit in the destination.");
        }
    }

    /// <summary>Returns SHA-256(<paramref name="input"/>).</summary>
    public static byte[] Hash(ReadOnlySpan<byte> input)
    {
        var result = new byte[Size];
        Hash(input, result);
        return result;
    }
}

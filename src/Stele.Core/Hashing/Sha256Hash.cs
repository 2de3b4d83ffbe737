namespace Stele.Core.Hashing;

/// <summary>
/// SHA-256 for the integrity formats (leaf, node, chain and payload hashes; DESIGN.md, "Integrity,
/// version 1"). Uses libcrypto's low-level functions where <see cref="LibcryptoSha256"/> could bind
/// them, because on Linux they are several times faster than .NET's API for the short inputs that
/// dominate (docs/BENCHMARKS.md, "Integrity core"), and .NET's managed API everywhere else.
/// Both give the same bytes; tests pin both against known-answer vectors.
/// </summary>
internal static class Sha256Hash
{
    /// <summary>Length of a SHA-256 hash in bytes.</summary>
    public const int Size = 32;

    /// <summary>True when this process hashes through libcrypto's low-level functions.</summary>
    public static bool UsesLibcrypto => LibcryptoSha256.IsAvailable;

    /// <summary>Writes SHA-256 of <paramref name="data"/> to <paramref name="destination"/> (at least 32 bytes).</summary>
    public static void Hash(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (!LibcryptoSha256.IsAvailable || !LibcryptoSha256.TryHash(data, destination))
        {
            DotNetSha256.Hash(data, destination);
        }
    }

    /// <summary>Returns SHA-256 of <paramref name="data"/>.</summary>
    public static byte[] Hash(ReadOnlySpan<byte> data)
    {
        var result = new byte[Size];
        Hash(data, result);
        return result;
    }

    /// <summary>Writes SHA-256 of <c>prefix ‖ data</c> to <paramref name="destination"/> (at least 32 bytes).</summary>
    public static void HashPrefixed(byte prefix, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (!LibcryptoSha256.IsAvailable || !LibcryptoSha256.TryHashPrefixed(prefix, data, destination))
        {
            DotNetSha256.HashPrefixed(prefix, data, destination);
        }
    }
}

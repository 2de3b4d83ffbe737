using System.Security.Cryptography;

namespace Stele.Core.Hashing;

/// <summary>
/// SHA-256 through .NET's managed API: the path wherever <see cref="LibcryptoSha256"/> is not available
/// (Windows, macOS, a Linux without a usable libcrypto).
/// </summary>
internal static class DotNetSha256
{
    // Prefixed inputs up to this size are copied behind the prefix on the stack (1 KiB keeps the frame small).
    private const int StackPrefixLimit = 1024;

    [ThreadStatic]
    private static IncrementalHash? t_hasher;

    /// <summary>
    /// Writes SHA-256 of <paramref name="data"/>. A per-thread <see cref="IncrementalHash"/> is reused
    /// because the one-shot <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/> creates and
    /// frees a native digest context on every call on Linux, which costs more than hashing a 65-byte
    /// node itself. The instance is never shared across threads and nothing can re-enter between
    /// AppendData and TryGetHashAndReset, so no state carries over between calls.
    /// </summary>
    public static void Hash(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        EnsureFits(destination);
        var hasher = t_hasher ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hasher.AppendData(data);
        hasher.GetHashAndReset(destination);
    }

    /// <summary>Writes SHA-256 of <c>prefix ‖ data</c>.</summary>
    public static void HashPrefixed(byte prefix, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        EnsureFits(destination);
        if (data.Length <= StackPrefixLimit)
        {
            Span<byte> buffer = stackalloc byte[1 + StackPrefixLimit];
            buffer[0] = prefix;
            data.CopyTo(buffer[1..]);
            Hash(buffer[..(1 + data.Length)], destination);
            return;
        }

        var hasher = t_hasher ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hasher.AppendData([prefix]);
        hasher.AppendData(data);
        hasher.GetHashAndReset(destination);
    }

    /// <summary>
    /// Checked before anything is appended: a hash that cannot be written is not reset, and the
    /// next caller on this thread would hash the leftover input too.
    /// </summary>
    private static void EnsureFits(Span<byte> destination)
    {
        if (destination.Length < Sha256Hash.Size)
        {
            throw new ArgumentException($"The destination must hold {Sha256Hash.Size} bytes, got {destination.Length}.", nameof(destination));
        }
    }
}

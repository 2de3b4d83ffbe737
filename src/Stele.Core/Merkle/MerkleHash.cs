using System.Security.Cryptography;

namespace Stele.Core.Merkle;

/// <summary>
/// RFC 6962 §2.1 / RFC 9162 §2.1.1 hashing with SHA-256: leaves are hashed as
/// <c>SHA-256(0x00 ‖ data)</c> and interior nodes as <c>SHA-256(0x01 ‖ left ‖ right)</c>.
/// </summary>
public static class MerkleHash
{
    /// <summary>Length in bytes of every hash in the tree.</summary>
    public const int Size = 32;

    private const byte LeafPrefix = 0x00;
    private const byte NodePrefix = 0x01;

    // Leaves up to this size are hashed from a stack buffer (1 KiB keeps the frame small).
    private const int StackLeafLimit = 1024;

    [ThreadStatic]
    private static IncrementalHash? t_hasher;

    /// <summary>The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).</summary>
    public static ReadOnlySpan<byte> EmptyRoot =>
    [
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
        0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
    ];

    /// <summary>Writes <c>SHA-256(0x00 ‖ data)</c> to <paramref name="destination"/> (32 bytes).</summary>
    public static void Leaf(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"The destination must hold {Size} bytes, got {destination.Length}.", nameof(destination));
        }

        // Small leaves (events are a few hundred bytes) are prefixed on the stack and hashed in one
        // one-shot call, which avoids the native incremental-hash object; large ones stream.
        if (data.Length <= StackLeafLimit)
        {
            Span<byte> buffer = stackalloc byte[1 + StackLeafLimit];
            buffer[0] = LeafPrefix;
            data.CopyTo(buffer[1..]);
            HashSmall(buffer[..(1 + data.Length)], destination);
            return;
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        ReadOnlySpan<byte> prefix = [LeafPrefix];
        hash.AppendData(prefix);
        hash.AppendData(data);
        hash.GetHashAndReset(destination);
    }

    /// <summary>Returns <c>SHA-256(0x00 ‖ data)</c>.</summary>
    public static byte[] Leaf(ReadOnlySpan<byte> data)
    {
        var result = new byte[Size];
        Leaf(data, result);
        return result;
    }

    /// <summary>Writes <c>SHA-256(0x01 ‖ left ‖ right)</c> to <paramref name="destination"/>.</summary>
    public static void Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        if (left.Length != Size || right.Length != Size)
        {
            throw new ArgumentException($"Merkle node children must be {Size} bytes, got {left.Length} and {right.Length}.");
        }

        if (destination.Length < Size)
        {
            throw new ArgumentException($"The destination must hold {Size} bytes, got {destination.Length}.", nameof(destination));
        }

        Span<byte> buffer = stackalloc byte[1 + (2 * Size)];
        buffer[0] = NodePrefix;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + Size)..]);
        HashSmall(buffer, destination);
    }

    /// <summary>Returns <c>SHA-256(0x01 ‖ left ‖ right)</c>.</summary>
    public static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        var result = new byte[Size];
        Node(left, right, result);
        return result;
    }

    /// <summary>
    /// SHA-256 of a short input. A per-thread <see cref="IncrementalHash"/> is reused because the
    /// one-shot <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/> creates and frees a native
    /// digest context on every call, which costs more than hashing a 65-byte node itself
    /// (docs/BENCHMARKS.md, "Integrity core"). The instance is never shared across threads and nothing
    /// can re-enter between AppendData and TryGetHashAndReset, so the state never leaks between calls.
    /// </summary>
    private static void HashSmall(ReadOnlySpan<byte> input, Span<byte> destination)
    {
        var hasher = t_hasher ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hasher.AppendData(input);
        if (!hasher.TryGetHashAndReset(destination, out _))
        {
            // Unreachable: callers check the destination length first.
            throw new InvalidOperationException("SHA-256 did not fit in the destination.");
        }
    }
}

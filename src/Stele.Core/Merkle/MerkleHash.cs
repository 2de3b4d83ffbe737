using Stele.Core.Hashing;

namespace Stele.Core.Merkle;

/// <summary>
/// RFC 6962 §2.1 / RFC 9162 §2.1.1 hashing with SHA-256: leaves are hashed as
/// <c>SHA-256(0x00 ‖ data)</c> and interior nodes as <c>SHA-256(0x01 ‖ left ‖ right)</c>.
/// The SHA-256 itself is <see cref="Sha256Hash"/> (libcrypto's low-level functions on Linux, which
/// is what makes proof verification fast; see docs/BENCHMARKS.md, "Integrity core").
/// </summary>
public static class MerkleHash
{
    /// <summary>Length in bytes of every hash in the tree.</summary>
    public const int Size = 32;

    private const byte LeafPrefix = 0x00;
    private const byte NodePrefix = 0x01;

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

        Sha256Hash.HashPrefixed(LeafPrefix, data, destination);
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
        Sha256Hash.Hash(buffer, destination);
    }

    /// <summary>Returns <c>SHA-256(0x01 ‖ left ‖ right)</c>.</summary>
    public static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        var result = new byte[Size];
        Node(left, right, result);
        return result;
    }
}

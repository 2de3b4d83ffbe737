using System.Numerics;
using System.Security.Cryptography;

namespace Stele.Bench;

/// <summary>
/// The hashing primitives as they were before SHA-256 moved to libcrypto's low-level functions
/// (a per-thread reused IncrementalHash for leaves and nodes, one-shot SHA256.HashData for chain
/// links), and the same append and inclusion-verification loops over them, so that before and after
/// are measured in the same BenchmarkDotNet run.
/// </summary>
internal static class BaselineMerkle
{
    [ThreadStatic]
    private static IncrementalHash? t_hasher;

    public static void Leaf(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[1 + 1024];
        buffer[0] = 0x00;
        data.CopyTo(buffer[1..]);
        HashSmall(buffer[..(1 + data.Length)], destination);
    }

    public static void Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[65];
        buffer[0] = 0x01;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[33..]);
        HashSmall(buffer, destination);
    }

    public static void ChainNext(ReadOnlySpan<byte> previous, ReadOnlySpan<byte> leafHash, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[64];
        previous.CopyTo(buffer);
        leafHash.CopyTo(buffer[32..]);
        SHA256.HashData(buffer, destination);
    }

    /// <summary>CompactRange.Append's loop: merge the carry with each perfect subtree on the right border.</summary>
    public static long AppendAll(byte[][] leafHashes)
    {
        var hashes = new List<byte[]>();
        long size = 0;
        foreach (var leafHash in leafHashes)
        {
            var carry = leafHash.ToArray();
            for (var s = size; (s & 1) == 1; s >>= 1)
            {
                var left = hashes[^1];
                hashes.RemoveAt(hashes.Count - 1);
                Node(left, carry, carry);
            }

            hashes.Add(carry);
            size++;
        }

        return size;
    }

    public static bool VerifyInclusion(long index, long size, ReadOnlySpan<byte> leaf, byte[][] proof, ReadOnlySpan<byte> root)
    {
        var inner = 64 - BitOperations.LeadingZeroCount((ulong)(index ^ (size - 1)));
        if (proof.Length != inner + BitOperations.PopCount((ulong)(index >> inner)))
        {
            return false;
        }

        Span<byte> r = stackalloc byte[32];
        leaf.CopyTo(r);
        for (var i = 0; i < proof.Length; i++)
        {
            if (i < inner && ((index >> i) & 1) == 0)
            {
                Node(r, proof[i], r);
            }
            else
            {
                Node(proof[i], r, r);
            }
        }

        return r.SequenceEqual(root);
    }

    private static void HashSmall(ReadOnlySpan<byte> input, Span<byte> destination)
    {
        var hasher = t_hasher ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hasher.AppendData(input);
        hasher.TryGetHashAndReset(destination, out _);
    }
}

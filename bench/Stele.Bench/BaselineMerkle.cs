using System.Numerics;
using System.Security.Cryptography;

namespace Stele.Bench;

/// <summary>
/// The hashing primitives as they were before the integrity-core optimisation (a new
/// IncrementalHash per leaf, one-shot SHA256.HashData per node) and the same inclusion-verification
/// loop over them, so that before and after are measured in the same BenchmarkDotNet run.
/// </summary>
internal static class BaselineMerkle
{
    public static void Leaf(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        ReadOnlySpan<byte> prefix = [0x00];
        hash.AppendData(prefix);
        hash.AppendData(data);
        hash.GetHashAndReset(destination);
    }

    public static void Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[65];
        buffer[0] = 0x01;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[33..]);
        SHA256.HashData(buffer, destination);
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
}

using System.Security.Cryptography;

namespace Stele.Core.Tests.Merkle;

/// <summary>
/// A deliberately naive RFC 6962 §2.1 / RFC 9162 §2.1 implementation, used only to cross-check the
/// production code: MTH, PATH and SUBPROOF written as the recursive definitions, over leaf hashes.
/// MTH results are memoised by range so that property tests over every proof stay fast; the
/// recursion itself is unchanged. It shares no code with Stele.Core (it hashes with SHA256 directly).
/// </summary>
internal sealed class ReferenceMerkle(IReadOnlyList<byte[]> leafHashes)
{
    private readonly Dictionary<(int Start, int End), byte[]> _memo = [];

    public byte[] Mth(int start, int end)
    {
        var n = end - start;
        if (n == 0)
        {
            return SHA256.HashData(ReadOnlySpan<byte>.Empty);
        }

        if (n == 1)
        {
            return leafHashes[start];
        }

        if (_memo.TryGetValue((start, end), out var cached))
        {
            return cached;
        }

        var k = LargestPowerOfTwoBelow(n);
        var result = SHA256.HashData([0x01, .. Mth(start, start + k), .. Mth(start + k, end)]);
        _memo[(start, end)] = result;
        return result;
    }

    /// <summary>PATH(m, D[n]) for the leaves D[0:n].</summary>
    public List<byte[]> Path(int m, int n) => Path(m, 0, n);

    /// <summary>PROOF(m, D[n]) = SUBPROOF(m, D[n], true).</summary>
    public List<byte[]> Proof(int m, int n) => SubProof(m, 0, n, true);

    public static int LargestPowerOfTwoBelow(int n)
    {
        var k = 1;
        while (k << 1 < n)
        {
            k <<= 1;
        }

        return k;
    }

    private List<byte[]> Path(int m, int start, int end)
    {
        var n = end - start;
        if (n == 1)
        {
            return [];
        }

        var k = LargestPowerOfTwoBelow(n);
        if (m < k)
        {
            var path = Path(m, start, start + k);
            path.Add(Mth(start + k, end));
            return path;
        }
        else
        {
            var path = Path(m - k, start + k, end);
            path.Add(Mth(start, start + k));
            return path;
        }
    }

    private List<byte[]> SubProof(int m, int start, int end, bool b)
    {
        var n = end - start;
        if (m == n)
        {
            return b ? [] : [Mth(start, end)];
        }

        var k = LargestPowerOfTwoBelow(n);
        if (m <= k)
        {
            var proof = SubProof(m, start, start + k, b);
            proof.Add(Mth(start + k, end));
            return proof;
        }
        else
        {
            var proof = SubProof(m - k, start + k, end, false);
            proof.Add(Mth(start, start + k));
            return proof;
        }
    }
}

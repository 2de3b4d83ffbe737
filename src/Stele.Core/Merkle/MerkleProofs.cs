using System.Numerics;

namespace Stele.Core.Merkle;

/// <summary>
/// Pure RFC 9162 §2.1 Merkle proof functions over SHA-256 (RFC 6962 hashing): tree roots,
/// inclusion proofs (§2.1.3) and consistency proofs (§2.1.4), plus verification of the subtree
/// proofs of draft-ietf-plants-merkle-tree-certs (§4.3 and §4.4 of the draft).
/// Generation reads complete nodes from an <see cref="IMerkleNodeSource"/> and throws
/// <see cref="ArgumentOutOfRangeException"/> for impossible arguments. Verification never throws on
/// bad input: it returns a failed <see cref="ProofCheck"/> that names the index, sizes and hashes.
/// </summary>
public static class MerkleProofs
{
    // Proofs over trees of at most 2^63 - 1 leaves never hold more than 2 * 63 hashes; anything longer is garbage.
    private const int MaxProofHashes = 128;

    /// <summary>The RFC 6962 Merkle Tree Hash of the first <paramref name="treeSize"/> leaves.</summary>
    public static byte[] Root(long treeSize, IMerkleNodeSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(treeSize);
        return treeSize == 0 ? MerkleHash.EmptyRoot.ToArray() : RangeHash(0, treeSize, source);
    }

    /// <summary>
    /// The inclusion proof (RFC 9162 §2.1.3.1 PATH) of leaf <paramref name="index"/> in the tree of
    /// <paramref name="treeSize"/> leaves, bottom-up.
    /// </summary>
    public static byte[][] Inclusion(long index, long treeSize, IMerkleNodeSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(treeSize);
        if (index < 0 || index >= treeSize)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Leaf index must be in [0, {treeSize}).");
        }

        var proof = new List<byte[]>(64);
        AppendNodePath(0, index, treeSize, source, proof);
        return [.. proof];
    }

    /// <summary>
    /// The consistency proof (RFC 9162 §2.1.4.1 PROOF) between the trees of <paramref name="size1"/> and
    /// <paramref name="size2"/> leaves, with 0 &lt; size1 ≤ size2. Equal sizes give the empty proof.
    /// </summary>
    public static byte[][] Consistency(long size1, long size2, IMerkleNodeSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size1);
        if (size2 < size1)
        {
            throw new ArgumentOutOfRangeException(nameof(size2), size2, $"The second tree size must be at least the first ({size1}).");
        }

        if (size1 == size2)
        {
            return [];
        }

        // The last perfect subtree of tree(size1) is the node both trees share on the right edge of
        // the smaller one; the proof is that node (unless it is root1 itself, which the verifier
        // already has) followed by its path to root2. This is the output of SUBPROOF, node for node.
        var level = BitOperations.TrailingZeroCount(size1);
        var index = (size1 - 1) >> level;
        var proof = new List<byte[]>(64);
        if (index != 0)
        {
            proof.Add(GetChecked(source, level, index));
        }

        AppendNodePath(level, index, size2, source, proof);
        return [.. proof];
    }

    /// <summary>
    /// The inclusion proof of leaf <paramref name="index"/> in the subtree [<paramref name="start"/>,
    /// <paramref name="end"/>) (draft-ietf-plants-merkle-tree-certs §4.3.1): the ordinary inclusion proof
    /// of leaf index - start in the tree made of that subtree's leaves.
    /// </summary>
    public static byte[][] SubtreeInclusion(long index, long start, long end, IMerkleNodeSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!IsValidSubtree(start, end))
        {
            throw new ArgumentOutOfRangeException(nameof(start), start, $"[{start}, {end}) is not a valid subtree.");
        }

        if (index < start || index >= end)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Leaf index must be in [{start}, {end}).");
        }

        return Inclusion(index - start, end - start, new OffsetSource(source, start));
    }

    /// <summary>
    /// True when [start, end) is a subtree in the sense of draft-ietf-plants-merkle-tree-certs §4.1:
    /// start &lt; end and start is a multiple of the smallest power of two ≥ end - start, so the range
    /// is the left part of a single node of the tree.
    /// </summary>
    public static bool IsValidSubtree(long start, long end)
    {
        if (start < 0 || end <= start)
        {
            return false;
        }

        if (start == 0)
        {
            return true;
        }

        var width = (ulong)(end - start);
        var ceiling = BitOperations.RoundUpToPowerOf2(width);
        // RoundUpToPowerOf2 wraps to 0 above 2^63; such a range can only start at 0.
        return ceiling != 0 && ((ulong)start & (ceiling - 1)) == 0;
    }

    /// <summary>
    /// Computes the root that an inclusion proof implies (RFC 9162 §2.1.3.2) into <paramref name="root"/>
    /// (32 bytes). The check fails, and <paramref name="root"/> is left unspecified, if the arguments
    /// cannot describe a proof: index outside [0, treeSize), hashes that are not 32 bytes, or a proof of
    /// the wrong length.
    /// </summary>
    public static ProofCheck RootFromInclusionProof(
        long index, long treeSize, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]>? proof, Span<byte> root)
    {
        if (root.Length < MerkleHash.Size)
        {
            throw new ArgumentException($"The root destination must hold {MerkleHash.Size} bytes.", nameof(root));
        }

        if (treeSize <= 0)
        {
            return ProofCheck.Fail(ProofFailure.InvalidSize, $"tree size {treeSize} holds no leaf, so no inclusion proof exists");
        }

        if (index < 0 || index >= treeSize)
        {
            return ProofCheck.Fail(ProofFailure.IndexOutOfRange, $"leaf index {index} is outside a tree of size {treeSize}");
        }

        if (leafHash.Length != MerkleHash.Size)
        {
            return ProofCheck.Fail(ProofFailure.HashWrongLength, $"leaf hash for leaf {index} is {leafHash.Length} bytes, expected {MerkleHash.Size}");
        }

        // Split as transparency-dev/merkle does: `inner` levels where the path to the leaf and the
        // path to the last leaf differ (siblings on either side), then one left sibling per set bit
        // of the index above that (the right border). Same result as the §2.1.3.2 loop, but the
        // expected length is known up front, so a wrong length is reported as such.
        var inner = 64 - BitOperations.LeadingZeroCount((ulong)(index ^ (treeSize - 1)));
        var expected = inner + BitOperations.PopCount((ulong)(index >> inner));
        var lengthCheck = CheckProofHashes(proof, expected, ProofKind.Inclusion, index, treeSize, 0);
        if (!lengthCheck.IsValid)
        {
            return lengthCheck;
        }

        var r = root[..MerkleHash.Size];
        leafHash.CopyTo(r);
        for (var i = 0; i < expected; i++)
        {
            var sibling = proof![i];
            if (i < inner && ((index >> i) & 1) == 0)
            {
                MerkleHash.Node(r, sibling, r);
            }
            else
            {
                MerkleHash.Node(sibling, r, r);
            }
        }

        return ProofCheck.Valid;
    }

    /// <summary>
    /// Verifies that <paramref name="proof"/> proves leaf <paramref name="index"/> with hash
    /// <paramref name="leafHash"/> is in the tree of <paramref name="treeSize"/> leaves with root
    /// <paramref name="root"/> (RFC 9162 §2.1.3.2).
    /// </summary>
    public static ProofCheck VerifyInclusion(
        long index, long treeSize, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]>? proof, ReadOnlySpan<byte> root)
    {
        if (root.Length != MerkleHash.Size)
        {
            return ProofCheck.Fail(ProofFailure.HashWrongLength, $"expected root for tree of size {treeSize} is {root.Length} bytes, expected {MerkleHash.Size}");
        }

        Span<byte> computed = stackalloc byte[MerkleHash.Size];
        var check = RootFromInclusionProof(index, treeSize, leafHash, proof, computed);
        if (!check.IsValid)
        {
            return check;
        }

        return computed.SequenceEqual(root)
            ? ProofCheck.Valid
            : ProofCheck.Fail(
                ProofFailure.RootMismatch,
                $"inclusion proof for leaf {index} (hash {Hex(leafHash)}) in tree of size {treeSize} gives root {Hex(computed)}, expected {Hex(root)}");
    }

    /// <summary>
    /// Verifies an inclusion proof of leaf <paramref name="index"/> in the subtree
    /// [<paramref name="start"/>, <paramref name="end"/>) whose hash is <paramref name="subtreeHash"/>
    /// (draft-ietf-plants-merkle-tree-certs §4.3.2).
    /// </summary>
    public static ProofCheck VerifySubtreeInclusion(
        long index, long start, long end, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]>? proof, ReadOnlySpan<byte> subtreeHash)
    {
        if (!IsValidSubtree(start, end))
        {
            return ProofCheck.Fail(ProofFailure.InvalidSubtree, $"[{start}, {end}) is not a valid subtree");
        }

        if (index < start || index >= end)
        {
            return ProofCheck.Fail(ProofFailure.IndexOutOfRange, $"leaf index {index} is outside the subtree [{start}, {end})");
        }

        var check = VerifyInclusion(index - start, end - start, leafHash, proof, subtreeHash);
        return check.IsValid ? check : check with { Message = $"subtree [{start}, {end}), leaf {index}: {check.Message}" };
    }

    /// <summary>
    /// Verifies that <paramref name="proof"/> shows the tree of <paramref name="size1"/> leaves with root
    /// <paramref name="root1"/> is a prefix of the tree of <paramref name="size2"/> leaves with root
    /// <paramref name="root2"/> (RFC 9162 §2.1.4.2). A proof from the empty tree is rejected, as in
    /// transparency-dev/merkle: it would prove nothing.
    /// </summary>
    public static ProofCheck VerifyConsistency(
        long size1, long size2, ReadOnlySpan<byte> root1, ReadOnlySpan<byte> root2, IReadOnlyList<byte[]>? proof)
    {
        if (size1 < 0 || size2 < 0)
        {
            return ProofCheck.Fail(ProofFailure.InvalidSize, $"tree sizes {size1} and {size2} cannot be negative");
        }

        if (size2 < size1)
        {
            return ProofCheck.Fail(ProofFailure.SizeOrder, $"first tree size {size1} is larger than second tree size {size2}");
        }

        if (size1 == 0)
        {
            return ProofCheck.Fail(ProofFailure.InvalidSize, $"a consistency proof from the empty tree to size {size2} proves nothing");
        }

        if (size1 == size2)
        {
            // The claim reduces to root1 == root2; like transparency-dev/merkle (and its golden data)
            // this compares the given bytes without interpreting them.
            if (proof is null || proof.Count != 0)
            {
                return ProofCheck.Fail(ProofFailure.WrongProofLength, $"consistency proof between equal sizes {size1} must be empty, got {proof?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"} hashes");
            }

            return root1.SequenceEqual(root2)
                ? ProofCheck.Valid
                : ProofCheck.Fail(ProofFailure.RootMismatch, $"trees of equal size {size1} have different roots {Hex(root1)} and {Hex(root2)}");
        }

        if (root1.Length != MerkleHash.Size || root2.Length != MerkleHash.Size)
        {
            return ProofCheck.Fail(ProofFailure.HashWrongLength, $"roots for sizes {size1} and {size2} are {root1.Length} and {root2.Length} bytes, expected {MerkleHash.Size}");
        }

        var level = BitOperations.TrailingZeroCount(size1);
        var node = (size1 - 1) >> level;
        var inner = 64 - BitOperations.LeadingZeroCount((ulong)(node ^ ((size2 - 1) >> level)));
        var expected = (node == 0 ? 0 : 1) + inner + BitOperations.PopCount((ulong)(node >> inner));
        var lengthCheck = CheckProofHashes(proof, expected, ProofKind.Consistency, size1, size2, 0);
        if (!lengthCheck.IsValid)
        {
            return lengthCheck;
        }

        // RFC 9162 §2.1.4.2, steps 1-7. When size1 is a power of two its root is the shared node
        // and is not part of the proof.
        Span<byte> fr = stackalloc byte[MerkleHash.Size];
        Span<byte> sr = stackalloc byte[MerkleHash.Size];
        var next = 0;
        if ((size1 & (size1 - 1)) == 0)
        {
            root1.CopyTo(fr);
        }
        else
        {
            proof![next++].CopyTo(fr);
        }

        fr.CopyTo(sr);
        var fn = size1 - 1;
        var sn = size2 - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        for (; next < proof!.Count; next++)
        {
            var c = proof[next];
            if (sn == 0)
            {
                return ProofCheck.Fail(ProofFailure.WrongProofLength, $"consistency proof from size {size1} to size {size2} has unused hashes");
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                MerkleHash.Node(c, fr, fr);
                MerkleHash.Node(c, sr, sr);
                while ((fn & 1) == 0 && fn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
            else
            {
                MerkleHash.Node(sr, c, sr);
            }

            fn >>= 1;
            sn >>= 1;
        }

        if (sn != 0)
        {
            return ProofCheck.Fail(ProofFailure.WrongProofLength, $"consistency proof from size {size1} to size {size2} is too short");
        }

        if (!fr.SequenceEqual(root1))
        {
            return ProofCheck.Fail(ProofFailure.FirstRootMismatch, $"consistency proof from size {size1} to size {size2} rebuilds first root {Hex(fr)}, expected {Hex(root1)}");
        }

        return sr.SequenceEqual(root2)
            ? ProofCheck.Valid
            : ProofCheck.Fail(ProofFailure.RootMismatch, $"consistency proof from size {size1} to size {size2} gives root {Hex(sr)}, expected {Hex(root2)}");
    }

    /// <summary>
    /// Verifies a subtree consistency proof (draft-ietf-plants-merkle-tree-certs §4.4.3): that the
    /// subtree [<paramref name="start"/>, <paramref name="end"/>) with hash <paramref name="subtreeHash"/>
    /// sits at those positions in the tree of <paramref name="treeSize"/> leaves with root
    /// <paramref name="root"/>. The empty subtree (start = end ≤ treeSize) has hash MTH({}) and an empty
    /// proof, and is consistent with any tree.
    /// </summary>
    public static ProofCheck VerifySubtreeConsistency(
        long start, long end, long treeSize, ReadOnlySpan<byte> subtreeHash, ReadOnlySpan<byte> root, IReadOnlyList<byte[]>? proof)
    {
        if (start < 0 || end < 0 || treeSize < 0)
        {
            return ProofCheck.Fail(ProofFailure.InvalidSize, $"subtree [{start}, {end}) of tree size {treeSize} has a negative bound");
        }

        if (start == end)
        {
            if (end > treeSize)
            {
                return ProofCheck.Fail(ProofFailure.SizeOrder, $"empty subtree at {start} lies beyond tree size {treeSize}");
            }

            if (proof is null || proof.Count != 0)
            {
                return ProofCheck.Fail(ProofFailure.WrongProofLength, $"proof for the empty subtree at {start} must be empty");
            }

            return subtreeHash.SequenceEqual(MerkleHash.EmptyRoot)
                ? ProofCheck.Valid
                : ProofCheck.Fail(ProofFailure.FirstRootMismatch, $"empty subtree at {start} has hash {Hex(subtreeHash)}, expected {Hex(MerkleHash.EmptyRoot)}");
        }

        if (!IsValidSubtree(start, end))
        {
            return ProofCheck.Fail(ProofFailure.InvalidSubtree, $"[{start}, {end}) is not a valid subtree");
        }

        if (end > treeSize)
        {
            return ProofCheck.Fail(ProofFailure.SizeOrder, $"subtree [{start}, {end}) ends beyond tree size {treeSize}");
        }

        if (start == 0 && end == treeSize)
        {
            // The subtree is the whole tree: as for equal sizes in VerifyConsistency, compare bytes.
            if (proof is null || proof.Count != 0)
            {
                return ProofCheck.Fail(ProofFailure.WrongProofLength, $"proof for subtree [0, {end}) of the tree of size {treeSize} must be empty");
            }

            return subtreeHash.SequenceEqual(root)
                ? ProofCheck.Valid
                : ProofCheck.Fail(ProofFailure.RootMismatch, $"subtree [0, {end}) is the whole tree but its hash {Hex(subtreeHash)} differs from root {Hex(root)}");
        }

        if (subtreeHash.Length != MerkleHash.Size || root.Length != MerkleHash.Size)
        {
            return ProofCheck.Fail(ProofFailure.HashWrongLength, $"subtree hash and root are {subtreeHash.Length} and {root.Length} bytes, expected {MerkleHash.Size}");
        }

        var hashesCheck = CheckProofHashes(proof, -1, ProofKind.SubtreeConsistency, start, end, treeSize);
        if (!hashesCheck.IsValid)
        {
            return hashesCheck;
        }

        // fn, sn and tn are the subtree's first leaf, its last leaf and the tree's last leaf; each
        // right shift climbs one level (draft §4.4.3 steps 3-8).
        var fn = start;
        var sn = end - 1;
        var tn = treeSize - 1;
        if (sn == tn)
        {
            while (fn != sn)
            {
                fn >>= 1;
                sn >>= 1;
                tn >>= 1;
            }
        }
        else
        {
            while (fn != sn && (sn & 1) == 1)
            {
                fn >>= 1;
                sn >>= 1;
                tn >>= 1;
            }
        }

        Span<byte> fr = stackalloc byte[MerkleHash.Size];
        Span<byte> sr = stackalloc byte[MerkleHash.Size];
        var next = 0;
        if (fn == sn)
        {
            subtreeHash.CopyTo(fr);
        }
        else
        {
            if (proof!.Count == 0)
            {
                return ProofCheck.Fail(ProofFailure.WrongProofLength, $"subtree consistency proof for [{start}, {end}) in tree of size {treeSize} is empty");
            }

            proof[next++].CopyTo(fr);
        }

        fr.CopyTo(sr);
        for (; next < proof!.Count; next++)
        {
            var c = proof[next];
            if (tn == 0)
            {
                return ProofCheck.Fail(ProofFailure.WrongProofLength, $"subtree consistency proof for [{start}, {end}) in tree of size {treeSize} has unused hashes");
            }

            if ((sn & 1) == 1 || sn == tn)
            {
                if (fn < sn)
                {
                    MerkleHash.Node(c, fr, fr);
                }

                MerkleHash.Node(c, sr, sr);
                while ((sn & 1) == 0 && sn != 0)
                {
                    fn >>= 1;
                    sn >>= 1;
                    tn >>= 1;
                }
            }
            else
            {
                MerkleHash.Node(sr, c, sr);
            }

            fn >>= 1;
            sn >>= 1;
            tn >>= 1;
        }

        if (tn != 0)
        {
            return ProofCheck.Fail(ProofFailure.WrongProofLength, $"subtree consistency proof for [{start}, {end}) in tree of size {treeSize} is too short");
        }

        if (!fr.SequenceEqual(subtreeHash))
        {
            return ProofCheck.Fail(ProofFailure.FirstRootMismatch, $"subtree consistency proof for [{start}, {end}) rebuilds subtree hash {Hex(fr)}, expected {Hex(subtreeHash)}");
        }

        return sr.SequenceEqual(root)
            ? ProofCheck.Valid
            : ProofCheck.Fail(ProofFailure.RootMismatch, $"subtree consistency proof for [{start}, {end}) in tree of size {treeSize} gives root {Hex(sr)}, expected {Hex(root)}");
    }

    /// <summary>Lowercase hex, as hashes appear in Stele's JSON and messages.</summary>
    internal static string Hex(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);

    // The description is only formatted on failure, so that valid proofs verify without allocating.
    private static ProofCheck CheckProofHashes(IReadOnlyList<byte[]>? proof, int expected, ProofKind kind, long a, long b, long c)
    {
        if (proof is null)
        {
            return ProofCheck.Fail(ProofFailure.WrongProofLength, $"{Describe(kind, a, b, c)}: the proof is missing");
        }

        if (expected >= 0 && proof.Count != expected)
        {
            return ProofCheck.Fail(ProofFailure.WrongProofLength, $"{Describe(kind, a, b, c)} has {proof.Count} hashes, expected {expected}");
        }

        if (proof.Count > MaxProofHashes)
        {
            return ProofCheck.Fail(ProofFailure.WrongProofLength, $"{Describe(kind, a, b, c)} has {proof.Count} hashes, more than any tree needs");
        }

        for (var i = 0; i < proof.Count; i++)
        {
            var length = proof[i]?.Length ?? -1;
            if (length != MerkleHash.Size)
            {
                return ProofCheck.Fail(
                    ProofFailure.HashWrongLength,
                    length < 0
                        ? $"{Describe(kind, a, b, c)}: hash {i} is missing"
                        : $"{Describe(kind, a, b, c)}: hash {i} is {length} bytes, expected {MerkleHash.Size}");
            }
        }

        return ProofCheck.Valid;
    }

    private static string Describe(ProofKind kind, long a, long b, long c) => kind switch
    {
        ProofKind.Inclusion => $"inclusion proof for leaf {a} in tree of size {b}",
        ProofKind.Consistency => $"consistency proof from size {a} to size {b}",
        _ => $"subtree consistency proof for [{a}, {b}) in tree of size {c}",
    };

    /// <summary>
    /// Appends the siblings on the path from node (level, index) to the root of the tree of
    /// <paramref name="treeSize"/> leaves, bottom-up. Below the level where the node's path and the
    /// last leaf's path meet, every sibling is a complete node except the topmost, which is the right
    /// subtree holding the last leaf and may be partial (an ephemeral node: its MTH is computed).
    /// Above that, the path runs along the right border and every sibling is a complete left node.
    /// </summary>
    private static void AppendNodePath(int level, long index, long treeSize, IMerkleNodeSource source, List<byte[]> proof)
    {
        var last = (treeSize - 1) >> level;
        var inner = 64 - BitOperations.LeadingZeroCount((ulong)(index ^ last));
        for (var i = 0; i < inner; i++)
        {
            var nodeLevel = level + i;
            var sibling = (index >> i) ^ 1;
            proof.Add(i == inner - 1
                ? RangeHash(sibling << nodeLevel, treeSize, source)
                : GetChecked(source, nodeLevel, sibling));
        }

        for (var i = inner; i < 63 && (index >> i) != 0; i++)
        {
            if (((index >> i) & 1) == 1)
            {
                proof.Add(GetChecked(source, level + i, (index >> i) ^ 1));
            }
        }
    }

    /// <summary>
    /// MTH of leaves [start, end), where start is aligned to the largest power of two not above
    /// end - start. The range splits into perfect subtrees, one per set bit of end - start, largest
    /// first; MTH joins them right to left (RFC 9162 §2.1.1 splits at the largest power of two).
    /// </summary>
    private static byte[] RangeHash(long start, long end, IMerkleNodeSource source)
    {
        var count = end - start;
        Span<int> levels = stackalloc int[64];
        Span<long> indices = stackalloc long[64];
        var parts = 0;
        var cursor = start;
        for (var level = 62; level >= 0; level--)
        {
            if (((count >> level) & 1) == 1)
            {
                levels[parts] = level;
                indices[parts] = cursor >> level;
                parts++;
                cursor += 1L << level;
            }
        }

        var root = (byte[])GetChecked(source, levels[parts - 1], indices[parts - 1]).Clone();
        for (var i = parts - 2; i >= 0; i--)
        {
            MerkleHash.Node(GetChecked(source, levels[i], indices[i]), root, root);
        }

        return root;
    }

    private static byte[] GetChecked(IMerkleNodeSource source, int level, long index)
    {
        var hash = source.GetNode(level, index);
        if (hash is null || hash.Length != MerkleHash.Size)
        {
            throw new InvalidOperationException(
                $"The node source returned {(hash is null ? "null" : $"{hash.Length} bytes")} for node ({level}, {index}); expected {MerkleHash.Size} bytes.");
        }

        return hash;
    }

    /// <summary>
    /// Presents the subtree starting at leaf <c>start</c> as a tree of its own. A valid subtree's start
    /// is aligned to every node level inside it, so node (l, i) of the subtree is node (l, i + start >> l).
    /// </summary>
    private enum ProofKind
    {
        Inclusion,
        Consistency,
        SubtreeConsistency,
    }

    private sealed class OffsetSource(IMerkleNodeSource inner, long start) : IMerkleNodeSource
    {
        public byte[] GetNode(int level, long index) => inner.GetNode(level, index + (start >> level));
    }
}

using Stele.Core.Merkle;

namespace Stele.Core.Tests.Merkle;

/// <summary>
/// Systematic corruption of valid proofs, in the style of transparency-dev/merkle's verifier tests:
/// every change to a proof hash, the leaf, the sizes, the index, the roots or the proof length must fail.
/// </summary>
public sealed class MutationTests
{
    // More leaves than the largest case, so that "size + 1" has an honest root to compare against.
    private static readonly byte[][] Leaves = TestTrees.LeafHashes(320);
    private static readonly InMemoryMerkleTree Tree = TestTrees.Build(Leaves);

    public static TheoryData<long, long> InclusionCases() => new()
    {
        { 0, 1 }, { 0, 2 }, { 1, 2 }, { 0, 7 }, { 6, 7 }, { 3, 8 }, { 5, 37 }, { 36, 37 }, { 0, 256 }, { 255, 256 }, { 256, 257 }, { 123, 300 }, { 299, 300 },
    };

    public static TheoryData<long, long> ConsistencyCases() => new()
    {
        { 1, 2 }, { 1, 8 }, { 3, 7 }, { 4, 8 }, { 6, 8 }, { 7, 300 }, { 37, 256 }, { 256, 300 }, { 257, 300 }, { 299, 300 },
    };

    [Theory]
    [MemberData(nameof(InclusionCases))]
    public void Every_single_bit_flip_in_an_inclusion_proof_fails(long index, long size)
    {
        var proof = MerkleProofs.Inclusion(index, size, Tree);
        var root = Tree.Root(size);
        Assert.True(MerkleProofs.VerifyInclusion(index, size, Leaves[index], proof, root).IsValid);
        for (var h = 0; h < proof.Length; h++)
        {
            for (var bit = 0; bit < MerkleHash.Size * 8; bit++)
            {
                var mutated = Clone(proof);
                mutated[h][bit / 8] ^= (byte)(1 << (bit % 8));
                AssertFails(MerkleProofs.VerifyInclusion(index, size, Leaves[index], mutated, root), ProofFailure.RootMismatch);
            }
        }

        for (var bit = 0; bit < MerkleHash.Size * 8; bit++)
        {
            var badRoot = (byte[])root.Clone();
            badRoot[bit / 8] ^= (byte)(1 << (bit % 8));
            AssertFails(MerkleProofs.VerifyInclusion(index, size, Leaves[index], proof, badRoot), ProofFailure.RootMismatch);
            var badLeaf = (byte[])Leaves[index].Clone();
            badLeaf[bit / 8] ^= (byte)(1 << (bit % 8));
            AssertFails(MerkleProofs.VerifyInclusion(index, size, badLeaf, proof, root), ProofFailure.RootMismatch);
        }
    }

    [Theory]
    [MemberData(nameof(InclusionCases))]
    public void An_inclusion_proof_fails_for_any_other_leaf_index_or_size(long index, long size)
    {
        var proof = MerkleProofs.Inclusion(index, size, Tree);
        var root = Tree.Root(size);
        var leaf = Leaves[index];
        AssertFails(MerkleProofs.VerifyInclusion(index, size, Leaves[(index + 1) % 300], proof, root));
        AssertFails(MerkleProofs.VerifyInclusion(index + 1, size, leaf, proof, root));
        AssertFails(MerkleProofs.VerifyInclusion(index - 1, size, leaf, proof, root));
        // A claimed size is checked against that size's honest root (the checkpoint binds size and
        // root together); with the old root a proof whose shape does not change would still chain.
        AssertFails(MerkleProofs.VerifyInclusion(index, size + 1, leaf, proof, Tree.Root(size + 1)));
        AssertFails(MerkleProofs.VerifyInclusion(index, size - 1, leaf, proof, Tree.Root(size - 1)));
        AssertFails(MerkleProofs.VerifyInclusion(index, size * 2, leaf, proof, root));
        AssertFails(MerkleProofs.VerifyInclusion(index ^ 2, size, leaf, proof, root));
        AssertFails(MerkleProofs.VerifyInclusion(index, -size, leaf, proof, root));
        AssertFails(MerkleProofs.VerifyInclusion(long.MinValue, size, leaf, proof, root));
        AssertFails(MerkleProofs.VerifyInclusion(index, size, leaf, proof, Tree.Root(size - 1)));
    }

    [Theory]
    [MemberData(nameof(InclusionCases))]
    public void Truncated_extended_and_malformed_inclusion_proofs_fail(long index, long size)
    {
        var proof = MerkleProofs.Inclusion(index, size, Tree);
        var root = Tree.Root(size);
        var leaf = Leaves[index];
        foreach (var bad in ShapeMutations(proof, root))
        {
            AssertFails(MerkleProofs.VerifyInclusion(index, size, leaf, bad, root));
        }

        AssertFails(MerkleProofs.VerifyInclusion(index, size, leaf, null, root), ProofFailure.WrongProofLength);
        AssertFails(MerkleProofs.VerifyInclusion(index, size, leaf.AsSpan(0, 31), proof, root), ProofFailure.HashWrongLength);
        AssertFails(MerkleProofs.VerifyInclusion(index, size, [.. leaf, 0], proof, root), ProofFailure.HashWrongLength);
        AssertFails(MerkleProofs.VerifyInclusion(index, size, leaf, proof, root.AsSpan(0, 31)), ProofFailure.HashWrongLength);
        AssertFails(MerkleProofs.VerifyInclusion(index, size, leaf, proof, ReadOnlySpan<byte>.Empty), ProofFailure.HashWrongLength);
    }

    [Theory]
    [MemberData(nameof(ConsistencyCases))]
    public void Every_single_bit_flip_in_a_consistency_proof_fails(long size1, long size2)
    {
        var proof = MerkleProofs.Consistency(size1, size2, Tree);
        byte[] root1 = Tree.Root(size1), root2 = Tree.Root(size2);
        Assert.True(MerkleProofs.VerifyConsistency(size1, size2, root1, root2, proof).IsValid);
        for (var h = 0; h < proof.Length; h++)
        {
            for (var bit = 0; bit < MerkleHash.Size * 8; bit++)
            {
                var mutated = Clone(proof);
                mutated[h][bit / 8] ^= (byte)(1 << (bit % 8));
                AssertFails(MerkleProofs.VerifyConsistency(size1, size2, root1, root2, mutated));
            }
        }

        for (var bit = 0; bit < MerkleHash.Size * 8; bit++)
        {
            var bad1 = (byte[])root1.Clone();
            bad1[bit / 8] ^= (byte)(1 << (bit % 8));
            AssertFails(MerkleProofs.VerifyConsistency(size1, size2, bad1, root2, proof));
            var bad2 = (byte[])root2.Clone();
            bad2[bit / 8] ^= (byte)(1 << (bit % 8));
            AssertFails(MerkleProofs.VerifyConsistency(size1, size2, root1, bad2, proof), ProofFailure.RootMismatch);
        }
    }

    [Theory]
    [MemberData(nameof(ConsistencyCases))]
    public void A_consistency_proof_fails_for_other_sizes_swapped_roots_or_a_bad_shape(long size1, long size2)
    {
        var proof = MerkleProofs.Consistency(size1, size2, Tree);
        byte[] root1 = Tree.Root(size1), root2 = Tree.Root(size2);
        // Each claimed size comes with its honest root, as a checkpoint would supply.
        AssertFails(MerkleProofs.VerifyConsistency(size1 + 1, size2, Tree.Root(size1 + 1), root2, proof));
        AssertFails(MerkleProofs.VerifyConsistency(size1 - 1, size2, Tree.Root(size1 - 1), root2, proof));
        AssertFails(MerkleProofs.VerifyConsistency(size1, size2 + 1, root1, Tree.Root(size2 + 1), proof));
        AssertFails(MerkleProofs.VerifyConsistency(size1, size2 - 1, root1, Tree.Root(size2 - 1), proof));
        AssertFails(MerkleProofs.VerifyConsistency(size2, size1, root2, root1, proof), ProofFailure.SizeOrder);
        AssertFails(MerkleProofs.VerifyConsistency(size1, size2, root2, root1, proof));
        AssertFails(MerkleProofs.VerifyConsistency(-size1, size2, root1, root2, proof), ProofFailure.InvalidSize);
        AssertFails(MerkleProofs.VerifyConsistency(0, size2, MerkleHash.EmptyRoot, root2, proof), ProofFailure.InvalidSize);
        AssertFails(MerkleProofs.VerifyConsistency(size1, size2, root1, root2, null), ProofFailure.WrongProofLength);
        AssertFails(MerkleProofs.VerifyConsistency(size1, size2, root1.AsSpan(1), root2, proof), ProofFailure.HashWrongLength);
        AssertFails(MerkleProofs.VerifyConsistency(size1, size2, root1, [.. root2, 7], proof), ProofFailure.HashWrongLength);
        foreach (var bad in ShapeMutations(proof, root1))
        {
            AssertFails(MerkleProofs.VerifyConsistency(size1, size2, root1, root2, bad));
        }
    }

    [Fact]
    public void A_consistency_proof_between_equal_sizes_must_be_empty_and_roots_equal()
    {
        var root = Tree.Root(37);
        Assert.True(MerkleProofs.VerifyConsistency(37, 37, root, root, []).IsValid);
        AssertFails(MerkleProofs.VerifyConsistency(37, 37, root, root, [root]), ProofFailure.WrongProofLength);
        AssertFails(MerkleProofs.VerifyConsistency(37, 37, root, Tree.Root(36), []), ProofFailure.RootMismatch);
    }

    [Fact]
    public void Failure_messages_name_the_index_sizes_and_both_hashes_in_lowercase_hex()
    {
        var proof = MerkleProofs.Inclusion(5, 37, Tree);
        var wrongRoot = Tree.Root(36);
        var check = MerkleProofs.VerifyInclusion(5, 37, Leaves[5], proof, wrongRoot);
        Assert.Equal(ProofFailure.RootMismatch, check.Failure);
        Assert.Contains("leaf 5", check.Message, StringComparison.Ordinal);
        Assert.Contains("size 37", check.Message, StringComparison.Ordinal);
        Assert.Contains(TestTrees.Hex(wrongRoot), check.Message, StringComparison.Ordinal);
        Assert.Contains(TestTrees.Hex(Tree.Root(37)), check.Message, StringComparison.Ordinal);

        var consistency = MerkleProofs.VerifyConsistency(6, 37, Tree.Root(6), wrongRoot, MerkleProofs.Consistency(6, 37, Tree));
        Assert.Contains("size 6 to size 37", consistency.Message, StringComparison.Ordinal);
        Assert.Contains(TestTrees.Hex(wrongRoot), consistency.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Generation_rejects_impossible_arguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleProofs.Inclusion(0, 0, Tree));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleProofs.Inclusion(5, 5, Tree));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleProofs.Inclusion(-1, 5, Tree));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleProofs.Consistency(0, 5, Tree));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleProofs.Consistency(6, 5, Tree));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleProofs.Root(-1, Tree));
        Assert.Throws<ArgumentOutOfRangeException>(() => MerkleProofs.SubtreeInclusion(3, 2, 5, Tree));
    }

    private static IEnumerable<byte[][]> ShapeMutations(byte[][] proof, byte[] root)
    {
        var garbage = new byte[MerkleHash.Size];
        garbage[0] = 0x42;
        if (proof.Length > 0)
        {
            yield return proof[..^1];
            yield return proof[1..];
            yield return [.. proof[..^1], garbage];
            yield return [.. proof.Take(proof.Length - 1), proof[^1].AsSpan(0, 31).ToArray()];
            yield return [.. proof.Take(proof.Length - 1), [.. proof[^1], 0]];
            yield return [.. proof.Take(proof.Length - 1), null!];
            yield return [.. proof.Take(proof.Length - 1), []];
            if (proof.Length > 1)
            {
                yield return [proof[1], proof[0], .. proof[2..]];
            }

            yield return [.. proof, .. proof];
        }

        yield return [.. proof, garbage];
        yield return [garbage, .. proof];
        yield return [.. proof, root];
        yield return [root, .. proof];
        yield return [.. Enumerable.Repeat(garbage, 200)];
    }

    private static byte[][] Clone(byte[][] proof) => [.. proof.Select(h => (byte[])h.Clone())];

    private static void AssertFails(ProofCheck check, ProofFailure? expected = null)
    {
        Assert.False(check.IsValid);
        if (expected is not null)
        {
            Assert.Equal(expected, check.Failure);
        }
    }
}

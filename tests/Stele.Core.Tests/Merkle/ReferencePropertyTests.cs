using Stele.Core.Merkle;

namespace Stele.Core.Tests.Merkle;

/// <summary>
/// Cross-checks against <see cref="ReferenceMerkle"/>: "every proof from tree(n) equals the
/// reference's and verifies against root(n)", exhaustively for small trees and by seeded sampling
/// for larger ones.
/// </summary>
public sealed class ReferencePropertyTests
{
    private const int MaxSize = 1000;

    private static readonly byte[][] Leaves = TestTrees.LeafHashes(MaxSize);
    private static readonly InMemoryMerkleTree Tree = TestTrees.Build(Leaves);
    private static readonly ReferenceMerkle Reference = new(Leaves);

    [Fact]
    public void Every_root_from_1_to_1000_leaves_equals_the_reference()
    {
        var compact = new CompactRange();
        var incremental = new InMemoryMerkleTree();
        for (var n = 1; n <= MaxSize; n++)
        {
            compact.Append(Leaves[n - 1]);
            incremental.Append(Leaves[n - 1]);
            var expected = Reference.Mth(0, n);
            Assert.Equal(expected, compact.Root());
            Assert.Equal(expected, incremental.Root());
            Assert.Equal(expected, MerkleProofs.Root(n, Tree));
        }
    }

    [Fact]
    public void Every_inclusion_proof_up_to_1000_leaves_equals_the_reference_and_verifies_against_its_root()
    {
        var checkedProofs = 0;
        for (var n = 1; n <= MaxSize; n++)
        {
            var root = Reference.Mth(0, n);
            for (var m = 0; m < n; m++)
            {
                var proof = MerkleProofs.Inclusion(m, n, Tree);
                AssertSameHashes(Reference.Path(m, n), proof, $"inclusion of {m} in {n}");
                var check = MerkleProofs.VerifyInclusion(m, n, Leaves[m], proof, root);
                Assert.True(check.IsValid, check.ToString());
                checkedProofs++;
            }
        }

        Assert.Equal(MaxSize * (MaxSize + 1) / 2, checkedProofs);
    }

    [Fact]
    public void Every_consistency_proof_up_to_300_leaves_equals_the_reference_and_verifies()
    {
        for (var n = 1; n <= 300; n++)
        {
            for (var m = 1; m <= n; m++)
            {
                AssertConsistency(m, n);
            }
        }
    }

    [Fact]
    public void Sampled_consistency_proofs_up_to_1000_leaves_equal_the_reference_and_verify()
    {
        var random = new Random(6962);
        for (var n = 301; n <= MaxSize; n++)
        {
            AssertConsistency(1, n);
            AssertConsistency(n - 1, n);
            AssertConsistency(n, n);
            for (var i = 0; i < 20; i++)
            {
                AssertConsistency(random.Next(1, n + 1), n);
            }
        }
    }

    [Theory]
    [InlineData(9162, 4097)]
    [InlineData(6962, 65537)]
    [InlineData(2025, 100_003)]
    public void Random_proofs_in_larger_trees_equal_the_reference_and_verify(int seed, int size)
    {
        var random = new Random(seed);
        var leaves = new byte[size][];
        for (var i = 0; i < size; i++)
        {
            leaves[i] = new byte[MerkleHash.Size];
            random.NextBytes(leaves[i]);
        }

        var tree = TestTrees.Build(leaves);
        var reference = new ReferenceMerkle(leaves);
        for (var i = 0; i < 200; i++)
        {
            var n = random.Next(1, size + 1);
            var m = random.Next(0, n);
            var root = reference.Mth(0, n);
            Assert.Equal(root, tree.Root(n));
            var inclusion = MerkleProofs.Inclusion(m, n, tree);
            AssertSameHashes(reference.Path(m, n), inclusion, $"inclusion of {m} in {n}");
            Assert.True(MerkleProofs.VerifyInclusion(m, n, leaves[m], inclusion, root).IsValid);

            var size1 = random.Next(1, n + 1);
            var consistency = MerkleProofs.Consistency(size1, n, tree);
            AssertSameHashes(reference.Proof(size1, n), consistency, $"consistency {size1} to {n}");
            Assert.True(MerkleProofs.VerifyConsistency(size1, n, reference.Mth(0, size1), root, consistency).IsValid);
        }
    }

    [Fact]
    public void Generated_subtree_inclusion_proofs_verify_for_every_valid_subtree_of_64_leaves()
    {
        var count = 0;
        for (var start = 0; start < 64; start++)
        {
            for (var end = start + 1; end <= 64; end++)
            {
                if (!MerkleProofs.IsValidSubtree(start, end))
                {
                    continue;
                }

                var subtreeHash = Reference.Mth(start, end);
                for (var index = start; index < end; index++)
                {
                    var proof = MerkleProofs.SubtreeInclusion(index, start, end, Tree);
                    var check = MerkleProofs.VerifySubtreeInclusion(index, start, end, Leaves[index], proof, subtreeHash);
                    Assert.True(check.IsValid, check.ToString());
                    count++;
                }
            }
        }

        Assert.True(count > 500);
    }

    private static void AssertConsistency(int m, int n)
    {
        var proof = MerkleProofs.Consistency(m, n, Tree);
        AssertSameHashes(Reference.Proof(m, n), proof, $"consistency {m} to {n}");
        var check = MerkleProofs.VerifyConsistency(m, n, Reference.Mth(0, m), Reference.Mth(0, n), proof);
        Assert.True(check.IsValid, check.ToString());
    }

    private static void AssertSameHashes(List<byte[]> expected, byte[][] actual, string what)
    {
        Assert.True(expected.Count == actual.Length, $"{what}: {actual.Length} hashes, reference has {expected.Count}");
        for (var i = 0; i < actual.Length; i++)
        {
            Assert.True(expected[i].AsSpan().SequenceEqual(actual[i]), $"{what}: hash {i} differs from the reference");
        }
    }
}

using System.Text;
using Stele.Core.Merkle;

namespace Stele.Core.Tests;

public sealed class CompactRangeTests
{
    [Fact]
    public void Empty_range_has_the_sha256_of_nothing_as_root()
    {
        Assert.Equal(
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            Convert.ToHexStringLower(new CompactRange().Root()));
    }

    [Fact]
    public void Restored_state_continues_like_the_original()
    {
        var original = new CompactRange();
        for (var i = 0; i < 37; i++)
        {
            original.Append(MerkleHash.Leaf(Encoding.ASCII.GetBytes($"leaf-{i}")));
        }

        var restored = CompactRange.FromState(original.Size, original.Hashes);
        original.Append(MerkleHash.Leaf("x"u8));
        restored.Append(MerkleHash.Leaf("x"u8));
        Assert.Equal(original.Root(), restored.Root());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(1000)]
    public void A_range_restored_from_stored_nodes_equals_the_appended_one(int size)
    {
        var appended = new CompactRange();
        var tree = new InMemoryMerkleTree();
        for (var i = 0; i < size; i++)
        {
            var leaf = MerkleHash.Leaf(Encoding.ASCII.GetBytes($"leaf-{i}"));
            appended.Append(leaf);
            tree.Append(leaf);
        }

        var restored = CompactRange.Restore(size, tree);
        Assert.Equal(appended.Size, restored.Size);
        Assert.Equal(appended.Hashes, restored.Hashes);
        Assert.Equal(appended.Root(), restored.Root());
    }
}

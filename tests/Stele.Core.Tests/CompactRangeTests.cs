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
}

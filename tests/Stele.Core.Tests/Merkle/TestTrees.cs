using System.Globalization;
using System.Text;
using Stele.Core.Merkle;

namespace Stele.Core.Tests.Merkle;

internal static class TestTrees
{
    /// <summary>Leaf hashes of the entries "leaf-0", "leaf-1", …: the same entries as the tlog-tiles example.</summary>
    public static byte[][] LeafHashes(int count)
    {
        var hashes = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            hashes[i] = MerkleHash.Leaf(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"leaf-{i}")));
        }

        return hashes;
    }

    public static InMemoryMerkleTree Build(IEnumerable<byte[]> leafHashes)
    {
        var tree = new InMemoryMerkleTree();
        foreach (var hash in leafHashes)
        {
            tree.Append(hash);
        }

        return tree;
    }

    public static string Hex(byte[] hash) => Convert.ToHexStringLower(hash);

    public static string[] Hex(IEnumerable<byte[]> hashes) => [.. hashes.Select(Hex)];
}

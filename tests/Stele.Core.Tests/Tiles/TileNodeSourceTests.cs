using Stele.Core.Merkle;
using Stele.Core.Tests.Merkle;
using Stele.Core.Tiles;

namespace Stele.Core.Tests.Tiles;

/// <summary>Proofs computed from tiles equal proofs from the full in-memory tree, around tile boundaries.</summary>
public sealed class TileNodeSourceTests
{
    private static readonly Lazy<InMemoryMerkleTree> Tree = new(() => TestTrees.Build(TestTrees.LeafHashes(70_000)));

    [Theory]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(511)]
    [InlineData(512)]
    [InlineData(65535)]
    [InlineData(65536)]
    [InlineData(65537)]
    [InlineData(69_999)]
    public void Tiles_give_the_same_root_and_proofs_as_the_full_tree(int size)
    {
        AssertTilesAgree(size, new Random(size));
    }

    [Fact]
    public void Tiles_give_the_same_proofs_for_random_sizes()
    {
        var random = new Random(8);
        for (var i = 0; i < 5; i++)
        {
            AssertTilesAgree(random.Next(1, 70_000), random);
        }
    }

    [Fact]
    public void Interior_nodes_are_rebuilt_from_tile_hashes()
    {
        const long size = 65_537;
        var tiles = BuildTiles(size);
        var source = new TileNodeSource(size, t => tiles[t]);
        for (var level = 0; level <= 16; level++)
        {
            var count = size >> level;
            foreach (var index in new[] { 0, count / 2, count - 1 })
            {
                Assert.Equal(Tree.Value.GetNode(level, index), source.GetNode(level, index));
            }
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => source.GetNode(0, size));
        Assert.Throws<ArgumentOutOfRangeException>(() => source.GetNode(1, size / 2));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(8192)]
    public void A_tile_of_the_wrong_length_raises_a_typed_error(int length)
    {
        var source = new TileNodeSource(300, _ => new byte[length]);
        var error = Assert.Throws<TileFormatException>(() => source.GetNode(0, 299));
        Assert.Equal("tile_wrong_length", error.Code);
        Assert.Contains("tile/0/001.p/44", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tile_math_finds_the_tile_of_every_node_kind()
    {
        Assert.Equal(new TileCoordinate(0, 0, 256), TileMath.TileForNode(0, 255, 300));
        Assert.Equal(new TileCoordinate(0, 1, 44), TileMath.TileForNode(0, 256, 300));
        Assert.Equal(new TileCoordinate(0, 1, 44), TileMath.TileForNode(2, 65, 300));
        Assert.Equal(new TileCoordinate(0, 0, 256), TileMath.TileForNode(7, 1, 300));
        Assert.Equal(new TileCoordinate(1, 0, 1), TileMath.TileForNode(8, 0, 300));
        Assert.Equal(new TileCoordinate(1, 0, 256), TileMath.TileForNode(15, 0, 65536));
        Assert.Equal(new TileCoordinate(2, 0, 1), TileMath.TileForNode(16, 0, 65536));
        Assert.Throws<ArgumentOutOfRangeException>(() => TileMath.TileForNode(8, 1, 300));
        Assert.Equal(0, TileMath.TileWidth(1, 1, 300));
    }

    private static void AssertTilesAgree(long size, Random random)
    {
        var tiles = BuildTiles(size);
        var reads = 0;
        var source = new TileNodeSource(size, t =>
        {
            reads++;
            return tiles[t];
        });
        var tree = Tree.Value;
        var root = tree.Root(size);
        Assert.Equal(root, MerkleProofs.Root(size, source));
        var indices = new HashSet<long> { 0, size - 1, size / 2, Math.Min(255, size - 1), Math.Min(256, size - 1) };
        for (var i = 0; i < 20; i++)
        {
            indices.Add(random.NextInt64(size));
        }

        foreach (var index in indices)
        {
            var proof = MerkleProofs.Inclusion(index, size, source);
            Assert.Equal(TestTrees.Hex(MerkleProofs.Inclusion(index, size, tree)), TestTrees.Hex(proof));
            Assert.True(MerkleProofs.VerifyInclusion(index, size, tree.GetNode(0, index), proof, root).IsValid);
            var size1 = index + 1;
            var consistency = MerkleProofs.Consistency(size1, size, source);
            Assert.Equal(TestTrees.Hex(MerkleProofs.Consistency(size1, size, tree)), TestTrees.Hex(consistency));
            Assert.True(MerkleProofs.VerifyConsistency(size1, size, tree.Root(size1), root, consistency).IsValid);
        }

        Assert.True(reads <= tiles.Count, "every tile is read at most once while cached");
    }

    private static Dictionary<TileCoordinate, byte[]> BuildTiles(long size) =>
        TileMath.TilesForTreeSize(size).ToDictionary(t => t, t => TileBuilder.Build(t, Tree.Value));
}

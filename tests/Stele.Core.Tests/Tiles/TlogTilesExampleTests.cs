using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Stele.Core.Merkle;
using Stele.Core.Tests.Merkle;
using Stele.Core.Tiles;

namespace Stele.Core.Tests.Tiles;

/// <summary>
/// Reproduces c2sp/tlog-tiles-example-300 (entries "leaf-0" … "leaf-299") tile for tile and byte
/// for byte, with its root, proofs, path examples and required tile lists from manifest.json.
/// </summary>
public sealed class TlogTilesExampleTests
{
    private const int Size = 300;

    private static readonly string ExampleDir = SharedTestData.Path("c2sp", "tlog-tiles-example-300");
    private static readonly Lazy<JsonDocument> Manifest = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(ExampleDir, "manifest.json"))));
    private static readonly byte[][] Entries =
        [.. Enumerable.Range(0, Size).Select(i => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"leaf-{i}")))];

    private static readonly InMemoryMerkleTree Tree = BuildTree();

    private static JsonElement M => Manifest.Value.RootElement;

    [Fact]
    public void The_root_equals_the_manifest_and_the_checkpoint()
    {
        Assert.Equal(M.GetProperty("rootHashHex").GetString(), TestTrees.Hex(Tree.Root()));
        var checkpoint = File.ReadAllText(Path.Combine(ExampleDir, "checkpoint")).Split('\n');
        Assert.Equal("300", checkpoint[1]);
        Assert.Equal(Convert.ToBase64String(Tree.Root()), checkpoint[2]);
    }

    [Fact]
    public void Every_tile_and_entry_bundle_is_reproduced_byte_for_byte()
    {
        var files = M.GetProperty("files").EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        var produced = new Dictionary<string, byte[]>();
        foreach (var tile in TileMath.TilesForTreeSize(Size))
        {
            produced[TilePath.Format(tile)] = TileBuilder.Build(tile, Tree);
            if (tile.Level == 0)
            {
                var bundle = Entries.Skip((int)tile.FirstNodeIndex).Take(tile.Width).Select(e => (ReadOnlyMemory<byte>)e).ToList();
                produced[TilePath.FormatEntries(tile.Index, tile.Width)] = EntryBundle.Encode(bundle);
            }
        }

        Assert.Equal(files.Keys.Order(StringComparer.Ordinal), produced.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, bytes) in produced)
        {
            var onDisk = File.ReadAllBytes(Path.Combine(ExampleDir, path));
            Assert.Equal(onDisk, bytes);
            Assert.Equal(files[path].GetProperty("bytes").GetInt32(), bytes.Length);
            Assert.Equal(files[path].GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
    }

    [Fact]
    public void Entry_bundles_on_disk_decode_to_the_entries()
    {
        var first = EntryBundle.Decode(File.ReadAllBytes(Path.Combine(ExampleDir, "tile", "entries", "000")), 256);
        var second = EntryBundle.Decode(File.ReadAllBytes(Path.Combine(ExampleDir, "tile", "entries", "001.p", "44")), 44);
        Assert.Equal(Entries, first.Concat(second));
    }

    [Fact]
    public void Tiles_read_from_disk_give_the_root_and_the_manifest_proofs()
    {
        var source = new TileNodeSource(Size, tile => File.ReadAllBytes(Path.Combine(ExampleDir, TilePath.Format(tile))));
        var root = MerkleProofs.Root(Size, source);
        Assert.Equal(M.GetProperty("rootHashHex").GetString(), TestTrees.Hex(root));

        foreach (var p in M.GetProperty("inclusionProofs").EnumerateArray())
        {
            var index = p.GetProperty("leafIndex").GetInt64();
            var expected = p.GetProperty("proof").EnumerateArray().Select(e => e.GetString()).ToArray();
            Assert.Equal(p.GetProperty("leafHash").GetString(), TestTrees.Hex(source.GetNode(0, index)));
            Assert.Equal(expected, TestTrees.Hex(MerkleProofs.Inclusion(index, Size, source)));
            Assert.Equal(expected, TestTrees.Hex(MerkleProofs.Inclusion(index, Size, Tree)));
            var check = MerkleProofs.VerifyInclusion(index, Size, Convert.FromHexString(p.GetProperty("leafHash").GetString()!), [.. expected.Select(h => Convert.FromHexString(h!))], root);
            Assert.True(check.IsValid, check.ToString());
        }

        foreach (var p in M.GetProperty("consistencyProofs").EnumerateArray())
        {
            var size1 = p.GetProperty("size1").GetInt64();
            var expected = p.GetProperty("proof").EnumerateArray().Select(e => e.GetString()).ToArray();
            Assert.Equal(p.GetProperty("root1").GetString(), TestTrees.Hex(Tree.Root(size1)));
            Assert.Equal(expected, TestTrees.Hex(MerkleProofs.Consistency(size1, Size, source)));
            var check = MerkleProofs.VerifyConsistency(size1, Size, Tree.Root(size1), root, [.. expected.Select(h => Convert.FromHexString(h!))]);
            Assert.True(check.IsValid, check.ToString());
        }
    }

    [Fact]
    public void Tile_path_examples_format_and_parse()
    {
        foreach (var example in M.GetProperty("tilePathEncodingExamples").EnumerateObject())
        {
            var index = long.Parse(example.Name, CultureInfo.InvariantCulture);
            var path = "tile/0/" + example.Value.GetString();
            Assert.Equal(path, TilePath.Format(new TileCoordinate(0, index, 256)));
            Assert.True(TilePath.TryParse(path, out var parsed, out var isBundle));
            Assert.False(isBundle);
            Assert.Equal(new TileCoordinate(0, index, 256), parsed);
        }

        Assert.Equal("tile/0/x001/x234/067", TilePath.Format(new TileCoordinate(0, 1234067, 256)));
    }

    [Fact]
    public void Required_tile_lists_match_the_manifest()
    {
        var sizes = 0;
        foreach (var entry in M.GetProperty("tilesForSize").EnumerateObject())
        {
            var size = long.Parse(entry.Name, CultureInfo.InvariantCulture);
            var expected = entry.Value.EnumerateArray().Select(e => e.GetString()).ToArray();
            Assert.Equal(expected, TileMath.TilesForTreeSize(size).Select(TilePath.Format).ToArray());
            sizes++;
        }

        Assert.Equal(7, sizes);
    }

    [Fact]
    public void The_spec_example_of_size_70000_has_the_tiles_it_describes()
    {
        // c2sp tlog-tiles "Partial Tiles": 273 full level 0 tiles, one partial of width 112, one full
        // level 1 tile, one partial level 1 tile of width 17, one partial level 2 tile of width 1.
        var tiles = TileMath.TilesForTreeSize(70_000);
        Assert.Equal(273, tiles.Count(t => t.Level == 0 && t.IsFull));
        Assert.Equal(new TileCoordinate(0, 273, 112), Assert.Single(tiles, t => t.Level == 0 && !t.IsFull));
        Assert.Equal(new TileCoordinate(1, 0, 256), Assert.Single(tiles, t => t.Level == 1 && t.IsFull));
        Assert.Equal(new TileCoordinate(1, 1, 17), Assert.Single(tiles, t => t.Level == 1 && !t.IsFull));
        Assert.Equal(new TileCoordinate(2, 0, 1), Assert.Single(tiles, t => t.Level == 2));
        Assert.Equal(277, tiles.Count);
    }

    private static InMemoryMerkleTree BuildTree()
    {
        var tree = new InMemoryMerkleTree();
        foreach (var entry in Entries)
        {
            tree.AppendLeafData(entry);
        }

        return tree;
    }
}

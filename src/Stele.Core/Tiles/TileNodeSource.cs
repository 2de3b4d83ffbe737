using System.Globalization;
using Stele.Core.Merkle;

namespace Stele.Core.Tiles;

/// <summary>
/// Serves the complete nodes of a tree of a fixed size from its c2sp.org/tlog-tiles tiles: nodes at
/// levels that are multiples of 8 are read from a tile, the levels in between are rebuilt by hashing
/// that tile's hashes (a tile is the subtree of height 8 above its hashes). The tiles are trusted as
/// given: check the resulting root against a signed checkpoint before relying on them.
/// Safe for concurrent use; recently used tiles and their rebuilt levels are cached.
/// </summary>
public sealed class TileNodeSource : IMerkleNodeSource
{
    private const int MaxCachedTiles = 64;

    private readonly Func<TileCoordinate, ReadOnlyMemory<byte>> _readTile;
    private readonly Dictionary<TileCoordinate, byte[][]> _cache = [];
    private readonly Lock _gate = new();

    /// <summary>Creates a source for the tree of <paramref name="treeSize"/> leaves, reading tiles with <paramref name="readTile"/>.</summary>
    public TileNodeSource(long treeSize, Func<TileCoordinate, ReadOnlyMemory<byte>> readTile)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(treeSize);
        ArgumentNullException.ThrowIfNull(readTile);
        TreeSize = treeSize;
        _readTile = readTile;
    }

    /// <summary>The tree size the tiles are read for; it fixes which tiles are partial.</summary>
    public long TreeSize { get; }

    /// <inheritdoc />
    /// <exception cref="TileFormatException">A tile does not hold exactly Width × 32 bytes.</exception>
    public byte[] GetNode(int level, long index)
    {
        var tile = TileMath.TileForNode(level, index, TreeSize);
        var levelInTile = level % TileCoordinate.Height;
        var levels = Levels(tile);
        var offset = index - (tile.Index << (TileCoordinate.Height - levelInTile));
        return levels[levelInTile].AsSpan((int)offset * MerkleHash.Size, MerkleHash.Size).ToArray();
    }

    private byte[][] Levels(TileCoordinate tile)
    {
        lock (_gate)
        {
            if (_cache.TryGetValue(tile, out var cached))
            {
                return cached;
            }
        }

        var bytes = _readTile(tile);
        if (bytes.Length != tile.ByteLength)
        {
            throw new TileFormatException(
                "tile_wrong_length",
                string.Create(CultureInfo.InvariantCulture, $"Tile {TilePath.Format(tile)} for tree size {TreeSize} has {bytes.Length} bytes, expected {tile.ByteLength}."));
        }

        // levels[s] holds the complete nodes s levels above the tile's hashes; a partial tile's
        // incomplete right edge is not there, and is never asked for.
        var levels = new byte[TileCoordinate.Height][];
        levels[0] = bytes.ToArray();
        for (var s = 1; s < TileCoordinate.Height; s++)
        {
            var below = levels[s - 1];
            var count = (below.Length / MerkleHash.Size) / 2;
            var current = new byte[count * MerkleHash.Size];
            for (var i = 0; i < count; i++)
            {
                MerkleHash.Node(
                    below.AsSpan(2 * i * MerkleHash.Size, MerkleHash.Size),
                    below.AsSpan(((2 * i) + 1) * MerkleHash.Size, MerkleHash.Size),
                    current.AsSpan(i * MerkleHash.Size, MerkleHash.Size));
            }

            levels[s] = current;
        }

        lock (_gate)
        {
            if (_cache.Count >= MaxCachedTiles)
            {
                _cache.Clear();
            }

            _cache[tile] = levels;
        }

        return levels;
    }
}

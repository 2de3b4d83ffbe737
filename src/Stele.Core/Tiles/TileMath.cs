namespace Stele.Core.Tiles;

/// <summary>
/// Which tiles make up a tree (c2sp.org/tlog-tiles, "Merkle Tree" and "Partial Tiles"): tile level l
/// stores the <c>floor(size / 256^l)</c> complete nodes of node level 8l, in tiles of 256, the last one
/// partial with <c>floor(size / 256^l) mod 256</c> hashes. Empty tiles do not exist.
/// </summary>
public static class TileMath
{
    /// <summary>Number of complete nodes at the bottom of tile level <paramref name="tileLevel"/> in a tree of <paramref name="treeSize"/> leaves.</summary>
    public static long HashesAtTileLevel(int tileLevel, long treeSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(treeSize);
        if (tileLevel is < 0 or > TileCoordinate.MaxLevel)
        {
            throw new ArgumentOutOfRangeException(nameof(tileLevel), tileLevel, $"Tile level must be in [0, {TileCoordinate.MaxLevel}].");
        }

        var shift = tileLevel * TileCoordinate.Height;
        return shift >= 63 ? 0 : treeSize >> shift;
    }

    /// <summary>
    /// The width of tile (<paramref name="tileLevel"/>, <paramref name="tileIndex"/>) in a tree of
    /// <paramref name="treeSize"/> leaves: 256 when full, 1 to 255 when partial, 0 when the tree has no such tile.
    /// </summary>
    public static int TileWidth(int tileLevel, long tileIndex, long treeSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tileIndex);
        var hashes = HashesAtTileLevel(tileLevel, treeSize);
        var first = tileIndex > long.MaxValue / TileCoordinate.FullWidth ? long.MaxValue : tileIndex * TileCoordinate.FullWidth;
        return hashes <= first ? 0 : (int)Math.Min(TileCoordinate.FullWidth, hashes - first);
    }

    /// <summary>
    /// The tile, as served for a tree of <paramref name="treeSize"/> leaves, that holds complete node
    /// (<paramref name="level"/>, <paramref name="index"/>): either as one of its hashes (level a multiple
    /// of 8) or as an interior node rebuilt from its hashes.
    /// </summary>
    public static TileCoordinate TileForNode(int level, long index, long treeSize)
    {
        if (level is < 0 or > 62)
        {
            throw new ArgumentOutOfRangeException(nameof(level), level, "Node level must be in [0, 62].");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (!IsCompleteNode(level, index, treeSize))
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Node ({level}, {index}) is not complete in a tree of size {treeSize}.");
        }

        var tileLevel = level / TileCoordinate.Height;
        var levelInTile = level % TileCoordinate.Height;
        // The node covers 2^levelInTile of the tile's hashes; 256 hashes per tile.
        var tileIndex = index >> (TileCoordinate.Height - levelInTile);
        return new TileCoordinate(tileLevel, tileIndex, TileWidth(tileLevel, tileIndex, treeSize));
    }

    /// <summary>Every tile of a tree of <paramref name="size"/> leaves: level 0 first, full tiles before the partial one.</summary>
    public static IReadOnlyList<TileCoordinate> TilesForTreeSize(long size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var tiles = new List<TileCoordinate>();
        for (var level = 0; level <= TileCoordinate.MaxLevel; level++)
        {
            var hashes = HashesAtTileLevel(level, size);
            if (hashes == 0)
            {
                break;
            }

            var full = hashes / TileCoordinate.FullWidth;
            for (long i = 0; i < full; i++)
            {
                tiles.Add(new TileCoordinate(level, i, TileCoordinate.FullWidth));
            }

            var partial = (int)(hashes % TileCoordinate.FullWidth);
            if (partial != 0)
            {
                tiles.Add(new TileCoordinate(level, full, partial));
            }
        }

        return tiles;
    }

    /// <summary>True when node (level, index) covers only leaves below <paramref name="treeSize"/>.</summary>
    internal static bool IsCompleteNode(int level, long index, long treeSize) =>
        level is >= 0 and <= 62 && index >= 0 && index < (treeSize >> level);
}

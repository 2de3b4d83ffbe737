namespace Stele.Core.Tiles;

/// <summary>
/// A tile of a c2sp.org/tlog-tiles log: tile <paramref name="Index"/> at tile level
/// <paramref name="Level"/> holds <paramref name="Width"/> consecutive hashes of node level
/// <c>8 × Level</c>, starting at node <c>256 × Index</c>. Width 256 is a full tile; 1 to 255 a partial one.
/// </summary>
/// <param name="Level">Tile level, 0 to 63 (the spec's bound on <c>&lt;L&gt;</c>).</param>
/// <param name="Index">Tile index within its level, not negative.</param>
/// <param name="Width">Number of hashes, 1 to 256.</param>
public readonly record struct TileCoordinate(int Level, long Index, int Width)
{
    /// <summary>Hashes in a full tile.</summary>
    public const int FullWidth = 256;

    /// <summary>Node levels spanned by one tile level (a tile is a subtree of height 8).</summary>
    public const int Height = 8;

    /// <summary>Highest tile level the tlog-tiles path syntax allows.</summary>
    public const int MaxLevel = 63;

    /// <summary>Tile level, 0 to 63.</summary>
    public int Level { get; } = Level is >= 0 and <= MaxLevel
        ? Level
        : throw new ArgumentOutOfRangeException(nameof(Level), Level, $"Tile level must be in [0, {MaxLevel}].");

    /// <summary>Tile index within its level.</summary>
    public long Index { get; } = Index >= 0
        ? Index
        : throw new ArgumentOutOfRangeException(nameof(Index), Index, "Tile index cannot be negative.");

    /// <summary>Number of hashes, 1 to 256.</summary>
    public int Width { get; } = Width is >= 1 and <= FullWidth
        ? Width
        : throw new ArgumentOutOfRangeException(nameof(Width), Width, $"Tile width must be in [1, {FullWidth}].");

    /// <summary>True for a full tile of 256 hashes.</summary>
    public bool IsFull => Width == FullWidth;

    /// <summary>The node level of the hashes stored in the tile.</summary>
    public int NodeLevel => Level * Height;

    /// <summary>Index, at <see cref="NodeLevel"/>, of the first hash in the tile.</summary>
    public long FirstNodeIndex => checked(Index * FullWidth);

    /// <summary>Length in bytes of the tile's contents.</summary>
    public int ByteLength => Width * Merkle.MerkleHash.Size;

    /// <inheritdoc />
    public override string ToString() => TilePath.Format(this);
}

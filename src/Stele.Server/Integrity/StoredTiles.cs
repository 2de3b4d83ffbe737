using Stele.Core.Tiles;
using Stele.Storage;

namespace Stele.Server.Integrity;

/// <summary>
/// Reads C2SP tlog-tiles out of the store: level-0 tiles are the events' leaf hashes, higher tiles
/// the tree nodes recorded at tile boundaries (see <see cref="TileBoundaryTracker"/>).
/// </summary>
internal static class StoredTiles
{
    public static byte[] Read(ISteleStore store, long ledgerId, TileCoordinate tile) =>
        tile.Level == 0
            ? store.ReadLeafHashes(ledgerId, tile.Index * 256, tile.Width)
            : store.ReadNodeHashes(ledgerId, tile.Level * 8, tile.Index * 256, tile.Width);

    /// <summary>A node source over the tree of <paramref name="treeSize"/> leaves, for roots and proofs.</summary>
    public static TileNodeSource NodeSource(ISteleStore store, long ledgerId, long treeSize) =>
        new(treeSize, tile => Read(store, ledgerId, tile));
}

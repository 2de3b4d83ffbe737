using Stele.Core.Merkle;

namespace Stele.Core.Tiles;

/// <summary>Produces tile contents (c2sp.org/tlog-tiles "Merkle Tree"): the tile's hashes, concatenated.</summary>
public static class TileBuilder
{
    /// <summary>
    /// The bytes of <paramref name="tile"/>: <c>Width × 32</c> bytes, the hashes of nodes
    /// (8 × Level, 256 × Index + i) for i in [0, Width). Every one must be a complete node of the source.
    /// </summary>
    public static byte[] Build(TileCoordinate tile, IMerkleNodeSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var bytes = new byte[tile.ByteLength];
        var first = tile.FirstNodeIndex;
        for (var i = 0; i < tile.Width; i++)
        {
            var hash = source.GetNode(tile.NodeLevel, first + i);
            if (hash is null || hash.Length != MerkleHash.Size)
            {
                throw new InvalidOperationException($"The node source returned a malformed hash for node ({tile.NodeLevel}, {first + i}).");
            }

            hash.CopyTo(bytes, i * MerkleHash.Size);
        }

        return bytes;
    }
}

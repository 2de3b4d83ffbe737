using System.Collections.Concurrent;
using Stele.Core.Merkle;
using Stele.Core.Tiles;
using Stele.Storage;

namespace Stele.Server.Integrity;

/// <summary>
/// Tree nodes for inclusion proofs, shared by every request. Rebuilding a proof from a level-0 tile
/// costs 255 node hashes (each about 350 ns through .NET's SHA-256) plus reading 256 leaf hashes, for
/// every proof; this keeps, per full level-0 tile, its 16 nodes at level 4 (512 bytes per 256
/// events), so a proof needs only the 16 leaf hashes of its own group and about 30 node hashes.
/// Tiles of level 1 and above (one per 65,536 events) and the partial tiles of every level at the
/// right edge of a tree size (which every proof at that size needs) are kept whole with every level
/// rebuilt. Everything kept describes full tiles or fixed-width prefixes of tiles, which never
/// change once stored.
/// </summary>
/// <remarks>
/// Summaries are computed when a proof first needs one and, once a ledger has been asked for a proof,
/// ahead of time up to each new checkpoint (<see cref="Warm"/>), at most <see cref="MaxSummaries"/> of
/// them (33 million events). A ledger nobody asks proofs of holds none: at 10,000,000 events they
/// would be about 23 MB of the heap, and the collector's gen2 garbage grows with what it keeps.
/// </remarks>
internal sealed class ProofTiles(ISteleStore store)
{
    /// <summary>Level-0 tile summaries kept, 512 bytes each: 64 MiB.</summary>
    public const int MaxSummaries = 131_072;

    private const int MaxUpperTiles = 1024;

    /// <summary>Partial tiles kept: the right edges of the few tree sizes proofs are asked for at a time.</summary>
    private const int MaxPartialTiles = 64;

    private const int GroupLevel = 4;
    private const int Group = 1 << GroupLevel;
    private const int GroupsPerTile = TileCoordinate.FullWidth / Group;

    private readonly ConcurrentDictionary<(long Ledger, long Tile), byte[]> _summaries = new();
    private readonly ConcurrentDictionary<(long Ledger, TileCoordinate Tile), byte[][]> _upper = new();
    private readonly ConcurrentDictionary<(long Ledger, TileCoordinate Tile), byte[][]> _partial = new();
    // Per ledger asked for a proof, how many of its first full level-0 tiles Warm has summarised.
    private readonly ConcurrentDictionary<long, long> _warmedTiles = new();

    private ISteleStore Store => store;

    /// <summary>A node source over the tree of <paramref name="treeSize"/> leaves of the ledger.</summary>
    public IMerkleNodeSource For(long ledgerId, long treeSize)
    {
        if (!_warmedTiles.ContainsKey(ledgerId))
        {
            _warmedTiles.TryAdd(ledgerId, 0);
        }

        return new Source(this, ledgerId, treeSize);
    }

    /// <summary>
    /// Computes up to <paramref name="maxTiles"/> summaries of the ledger's full level-0 tiles below
    /// <paramref name="size"/> that are not computed yet (a bounded step, so callers stay responsive);
    /// nothing until the ledger has been asked for a proof.
    /// </summary>
    public void Warm(long ledgerId, long size, int maxTiles)
    {
        const int TilesPerRead = 64;
        if (!_warmedTiles.TryGetValue(ledgerId, out var from))
        {
            return;
        }

        var full = Math.Min(size / TileCoordinate.FullWidth, from + maxTiles);
        while (from < full && _summaries.Count < MaxSummaries)
        {
            var tiles = (int)Math.Min(TilesPerRead, full - from);
            var hashes = store.ReadLeafHashes(ledgerId, from * TileCoordinate.FullWidth, tiles * TileCoordinate.FullWidth);
            if (hashes.Length != tiles * TileCoordinate.FullWidth * MerkleHash.Size)
            {
                return;
            }

            for (var t = 0; t < tiles; t++)
            {
                _summaries.TryAdd((ledgerId, from + t), Summarize(hashes.AsSpan(t * TileCoordinate.FullWidth * MerkleHash.Size, TileCoordinate.FullWidth * MerkleHash.Size)));
            }

            from += tiles;
            _warmedTiles[ledgerId] = from;
        }
    }

    /// <summary>How many of the ledger's first full level-0 tiles <see cref="Warm"/> has summarised.</summary>
    internal long WarmedTiles(long ledgerId) => _warmedTiles.TryGetValue(ledgerId, out var tiles) ? tiles : 0;

    /// <summary>The 16 level-4 nodes of a full level-0 tile, from its 256 leaf hashes.</summary>
    private static byte[] Summarize(ReadOnlySpan<byte> leafHashes)
    {
        var summary = new byte[GroupsPerTile * MerkleHash.Size];
        for (var g = 0; g < GroupsPerTile; g++)
        {
            Root(leafHashes.Slice(g * Group * MerkleHash.Size, Group * MerkleHash.Size), summary.AsSpan(g * MerkleHash.Size, MerkleHash.Size));
        }

        return summary;
    }

    /// <summary>The root of the perfect subtree over <paramref name="hashes"/> (a power of two of them).</summary>
    private static void Root(ReadOnlySpan<byte> hashes, Span<byte> destination)
    {
        var count = hashes.Length / MerkleHash.Size;
        if (count == 1)
        {
            hashes.CopyTo(destination);
            return;
        }

        Span<byte> row = stackalloc byte[(count / 2) * MerkleHash.Size];
        for (var i = 0; i < count / 2; i++)
        {
            MerkleHash.Node(hashes.Slice(2 * i * MerkleHash.Size, MerkleHash.Size), hashes.Slice(((2 * i) + 1) * MerkleHash.Size, MerkleHash.Size), row.Slice(i * MerkleHash.Size, MerkleHash.Size));
        }

        for (var width = count / 2; width > 1; width /= 2)
        {
            for (var i = 0; i < width / 2; i++)
            {
                MerkleHash.Node(row.Slice(2 * i * MerkleHash.Size, MerkleHash.Size), row.Slice(((2 * i) + 1) * MerkleHash.Size, MerkleHash.Size), row.Slice(i * MerkleHash.Size, MerkleHash.Size));
            }
        }

        row[..MerkleHash.Size].CopyTo(destination);
    }

    private byte[]? Summary(long ledgerId, long tile)
    {
        if (_summaries.TryGetValue((ledgerId, tile), out var summary))
        {
            return summary;
        }

        var hashes = store.ReadLeafHashes(ledgerId, tile * TileCoordinate.FullWidth, TileCoordinate.FullWidth);
        if (hashes.Length != TileCoordinate.FullWidth * MerkleHash.Size)
        {
            return null;
        }

        summary = Summarize(hashes);
        if (_summaries.Count < MaxSummaries)
        {
            _summaries.TryAdd((ledgerId, tile), summary);
        }

        return summary;
    }

    /// <summary>
    /// A tile with every level rebuilt, kept: full tiles of level ≥ 1 (a few per million events) and
    /// partial tiles of any level, the right edge of a tree size, which every proof at that size
    /// needs. A partial tile is kept under its width: the first hashes of a tile never change once
    /// stored, so a wider one is another entry.
    /// </summary>
    private byte[][] TileLevels(long ledgerId, TileCoordinate tile)
    {
        var (cache, max) = tile.IsFull ? (_upper, MaxUpperTiles) : (_partial, MaxPartialTiles);
        if (cache.TryGetValue((ledgerId, tile), out var levels))
        {
            return levels;
        }

        var bytes = StoredTiles.Read(store, ledgerId, tile);
        if (bytes.Length != tile.ByteLength)
        {
            throw new TileFormatException("tile_wrong_length", $"Tile {TilePath.Format(tile)} has {bytes.Length} bytes, expected {tile.ByteLength}.");
        }

        levels = new byte[TileCoordinate.Height][];
        levels[0] = bytes;
        for (var s = 1; s < TileCoordinate.Height; s++)
        {
            var below = levels[s - 1];
            var count = below.Length / MerkleHash.Size / 2;
            var current = new byte[count * MerkleHash.Size];
            for (var i = 0; i < count; i++)
            {
                MerkleHash.Node(below.AsSpan(2 * i * MerkleHash.Size, MerkleHash.Size), below.AsSpan(((2 * i) + 1) * MerkleHash.Size, MerkleHash.Size), current.AsSpan(i * MerkleHash.Size, MerkleHash.Size));
            }

            levels[s] = current;
        }

        if (cache.Count >= max)
        {
            cache.Clear();
        }

        cache.TryAdd((ledgerId, tile), levels);
        return levels;
    }

    /// <summary>One proof's view: tiles from the shared caches; a plain tile source only when a summary or group cannot be read whole.</summary>
    private sealed class Source(ProofTiles owner, long ledgerId, long treeSize) : IMerkleNodeSource
    {
        // Needed only when a summary or a group cannot be read whole; made then, not for every proof.
        private TileNodeSource? _fallback;
        private long _groupStart = -1;
        private byte[] _group = [];

        private TileNodeSource Fallback => _fallback ??= StoredTiles.NodeSource(owner.Store, ledgerId, treeSize);

        public byte[] GetNode(int level, long index)
        {
            var tile = TileMath.TileForNode(level, index, treeSize);
            var levelInTile = level % TileCoordinate.Height;
            if (tile.Level > 0 || !tile.IsFull)
            {
                var levels = owner.TileLevels(ledgerId, tile);
                var offset = index - (tile.Index << (TileCoordinate.Height - levelInTile));
                return levels[levelInTile].AsSpan((int)offset * MerkleHash.Size, MerkleHash.Size).ToArray();
            }

            var result = new byte[MerkleHash.Size];
            var firstLeaf = index << level;
            if (level >= GroupLevel)
            {
                var summary = owner.Summary(ledgerId, tile.Index);
                if (summary is null)
                {
                    return Fallback.GetNode(level, index);
                }

                var firstGroup = (int)((firstLeaf - (tile.Index * TileCoordinate.FullWidth)) / Group);
                Root(summary.AsSpan(firstGroup * MerkleHash.Size, (1 << (level - GroupLevel)) * MerkleHash.Size), result);
                return result;
            }

            // Below level 4: the leaf hashes of the node's group of 16, read once for all the proof's siblings in it.
            var groupStart = firstLeaf / Group * Group;
            if (groupStart != _groupStart)
            {
                _group = owner.Store.ReadLeafHashes(ledgerId, groupStart, Group);
                if (_group.Length != Group * MerkleHash.Size)
                {
                    return Fallback.GetNode(level, index);
                }

                _groupStart = groupStart;
            }

            Root(_group.AsSpan((int)(firstLeaf - groupStart) * MerkleHash.Size, (1 << level) * MerkleHash.Size), result);
            return result;
        }
    }
}

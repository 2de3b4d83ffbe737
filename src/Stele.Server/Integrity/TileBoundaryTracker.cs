using Stele.Core.Merkle;
using Stele.Storage;

namespace Stele.Server.Integrity;

/// <summary>
/// Watches leaf hashes as they are appended and reports each perfect subtree of 256^k leaves
/// (node level 8k, k ≥ 1) the moment it completes. Those nodes are the bottom rows of the C2SP
/// tlog-tiles at tile level k ≥ 1, so storing them (one row per 256 nodes below) is enough to
/// serve every tile, full or partial, and to compute any proof.
/// </summary>
internal sealed class TileBoundaryTracker
{
    private const int TileWidth = 256;
    private const int TileHeight = 8;

    // pending[k] holds the node hashes at level 8k of the current, incomplete group of 256.
    private readonly List<List<byte[]>> _pending = [];
    private readonly List<long> _completed = [];

    /// <summary>Restores the tracker at tree size <paramref name="size"/> from stored hashes.</summary>
    public static TileBoundaryTracker Load(long size, Func<int, long, int, byte[]> readHashes)
    {
        var tracker = new TileBoundaryTracker();
        var count = size;
        for (var k = 0; count > 0; k++)
        {
            var start = count / TileWidth * TileWidth;
            var width = (int)(count - start);
            var bytes = width == 0 ? [] : readHashes(k * TileHeight, start, width);
            if (bytes.Length != width * MerkleHash.Size)
            {
                throw new InvalidOperationException(
                    $"The store holds {bytes.Length / MerkleHash.Size} hashes at level {k * TileHeight} from index {start}, expected {width}.");
            }

            var list = new List<byte[]>(TileWidth);
            for (var i = 0; i < width; i++)
            {
                list.Add(bytes.AsSpan(i * MerkleHash.Size, MerkleHash.Size).ToArray());
            }

            tracker._pending.Add(list);
            tracker._completed.Add(count);
            count /= TileWidth;
        }

        return tracker;
    }

    public TileBoundaryTracker Clone()
    {
        var clone = new TileBoundaryTracker();
        foreach (var list in _pending)
        {
            clone._pending.Add([.. list]);
        }

        clone._completed.AddRange(_completed);
        return clone;
    }

    /// <summary>Appends a leaf hash; adds any nodes it completes to <paramref name="completedNodes"/>.</summary>
    public void Append(byte[] leafHash, List<StoredTreeNode> completedNodes)
    {
        var hash = leafHash;
        for (var k = 0; ; k++)
        {
            if (_pending.Count == k)
            {
                _pending.Add(new List<byte[]>(TileWidth));
                _completed.Add(0);
            }

            _pending[k].Add(hash);
            _completed[k]++;
            if (_pending[k].Count < TileWidth)
            {
                return;
            }

            hash = PerfectRoot(_pending[k]);
            _pending[k].Clear();
            var level = (k + 1) * TileHeight;
            var index = (_completed[k] / TileWidth) - 1;
            completedNodes.Add(new StoredTreeNode(level, index, hash));
        }
    }

    private static byte[] PerfectRoot(List<byte[]> hashes)
    {
        var row = hashes.Select(h => (byte[])h.Clone()).ToArray();
        for (var width = row.Length; width > 1; width /= 2)
        {
            for (var i = 0; i < width / 2; i++)
            {
                row[i] = MerkleHash.Node(row[2 * i], row[(2 * i) + 1]);
            }
        }

        return row[0];
    }
}

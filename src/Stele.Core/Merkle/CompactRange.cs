using System.Numerics;

namespace Stele.Core.Merkle;

/// <summary>
/// An incremental RFC 6962 tree appender over the range [0, size): it keeps only the roots of the
/// perfect subtrees that make up the range (one per set bit of <see cref="Size"/>, largest first),
/// so appending n leaves costs O(n) node hashes in total and the state is O(log n).
/// This is the "compact range" of transparency-dev/merkle, restricted to ranges that start at 0.
/// </summary>
public sealed class CompactRange
{
    private readonly List<byte[]> _hashes;

    /// <summary>Creates the empty range.</summary>
    public CompactRange()
    {
        _hashes = [];
    }

    private CompactRange(long size, List<byte[]> hashes)
    {
        Size = size;
        _hashes = hashes;
    }

    /// <summary>Number of leaves appended so far.</summary>
    public long Size { get; private set; }

    /// <summary>
    /// The roots of the perfect subtrees covering [0, Size), left to right (largest first).
    /// Their count equals the number of set bits in <see cref="Size"/>.
    /// </summary>
    public IReadOnlyList<byte[]> Hashes => _hashes;

    /// <summary>Restores a range from <see cref="Size"/> and <see cref="Hashes"/> saved earlier.</summary>
    public static CompactRange FromState(long size, IReadOnlyList<byte[]> hashes)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        if (size < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "Tree size cannot be negative.");
        }

        if (hashes.Count != BitOperations.PopCount((ulong)size))
        {
            throw new ArgumentException(
                $"A compact range of size {size} has {BitOperations.PopCount((ulong)size)} hashes, got {hashes.Count}.",
                nameof(hashes));
        }

        var copy = new List<byte[]>(hashes.Count);
        foreach (var hash in hashes)
        {
            if (hash is null || hash.Length != MerkleHash.Size)
            {
                throw new ArgumentException($"Every compact range hash must be {MerkleHash.Size} bytes.", nameof(hashes));
            }

            copy.Add((byte[])hash.Clone());
        }

        return new CompactRange(size, copy);
    }

    /// <summary>
    /// Rebuilds the range of [0, size) from stored tree nodes: the perfect subtrees named by the
    /// set bits of <paramref name="size"/>, largest first.
    /// </summary>
    public static CompactRange Restore(long size, IMerkleNodeSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var hashes = new List<byte[]>();
        long start = 0;
        for (var level = 62; level >= 0; level--)
        {
            var width = 1L << level;
            if ((size & width) != 0)
            {
                hashes.Add(source.GetNode(level, start >> level));
                start += width;
            }
        }

        return new CompactRange(size, hashes);
    }

    /// <summary>Returns an independent copy of this range.</summary>
    public CompactRange Clone() => FromState(Size, _hashes);

    /// <summary>Appends one leaf hash (already hashed with <see cref="MerkleHash.Leaf(ReadOnlySpan{byte})"/>).</summary>
    public void Append(ReadOnlySpan<byte> leafHash)
    {
        if (leafHash.Length != MerkleHash.Size)
        {
            throw new ArgumentException($"A leaf hash must be {MerkleHash.Size} bytes, got {leafHash.Length}.", nameof(leafHash));
        }

        var carry = leafHash.ToArray();
        // Each trailing set bit of Size is a perfect subtree of the same height as the carry: merge them.
        for (var size = Size; (size & 1) == 1; size >>= 1)
        {
            var left = _hashes[^1];
            _hashes.RemoveAt(_hashes.Count - 1);
            MerkleHash.Node(left, carry, carry);
        }

        _hashes.Add(carry);
        Size++;
    }

    /// <summary>The RFC 6962 Merkle tree hash of the leaves appended so far.</summary>
    public byte[] Root()
    {
        if (_hashes.Count == 0)
        {
            return MerkleHash.EmptyRoot.ToArray();
        }

        // Fold right to left: the smallest subtrees join first, as MTH's split at the largest power of two implies.
        var root = (byte[])_hashes[^1].Clone();
        for (var i = _hashes.Count - 2; i >= 0; i--)
        {
            MerkleHash.Node(_hashes[i], root, root);
        }

        return root;
    }
}

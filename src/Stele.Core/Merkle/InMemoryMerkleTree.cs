namespace Stele.Core.Merkle;

/// <summary>
/// An append-only RFC 6962 tree that keeps every complete node in memory: one contiguous hash array
/// per level, so n leaves cost about 2n × 32 bytes. Meant for tests, benchmarks and small ledgers;
/// large logs read nodes from tiles instead (see <c>Stele.Core.Tiles.TileNodeSource</c>).
/// Not thread-safe for concurrent appends.
/// </summary>
public sealed class InMemoryMerkleTree : IMerkleNodeSource
{
    private const int InitialCapacity = 16;

    // _levels[l] holds _counts[l] hashes of 32 bytes: the complete nodes at level l, left to right.
    private readonly List<byte[]> _levels = [];
    private readonly List<long> _counts = [];

    /// <summary>Number of leaves appended so far.</summary>
    public long Size { get; private set; }

    /// <summary>Appends one leaf hash (already hashed with <see cref="MerkleHash.Leaf(ReadOnlySpan{byte})"/>).</summary>
    public void Append(ReadOnlySpan<byte> leafHash)
    {
        if (leafHash.Length != MerkleHash.Size)
        {
            throw new ArgumentException($"A leaf hash must be {MerkleHash.Size} bytes, got {leafHash.Length}.", nameof(leafHash));
        }

        var index = Size;
        Write(0, index, leafHash);
        // Each time the new node is a right child its parent becomes complete.
        for (var level = 0; (index & 1) == 1; level++, index >>= 1)
        {
            var parent = Slot(level + 1, index >> 1);
            MerkleHash.Node(NodeSpan(level, index - 1), NodeSpan(level, index), parent);
            _counts[level + 1] = (index >> 1) + 1;
        }

        Size++;
    }

    /// <summary>Appends the leaf hash of each entry's bytes.</summary>
    public void AppendLeafData(ReadOnlySpan<byte> entry)
    {
        Span<byte> hash = stackalloc byte[MerkleHash.Size];
        MerkleHash.Leaf(entry, hash);
        Append(hash);
    }

    /// <summary>The stored hash of complete node (level, index), without copying.</summary>
    public ReadOnlySpan<byte> NodeSpan(int level, long index)
    {
        if (level < 0 || level >= _levels.Count || index < 0 || index >= _counts[level])
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Node ({level}, {index}) is not a complete node of a tree of size {Size}.");
        }

        return _levels[level].AsSpan(checked((int)(index * MerkleHash.Size)), MerkleHash.Size);
    }

    /// <inheritdoc />
    public byte[] GetNode(int level, long index) => NodeSpan(level, index).ToArray();

    /// <summary>The root of the first <paramref name="treeSize"/> leaves (any size up to <see cref="Size"/>).</summary>
    public byte[] Root(long treeSize)
    {
        if (treeSize > Size)
        {
            throw new ArgumentOutOfRangeException(nameof(treeSize), treeSize, $"The tree holds {Size} leaves.");
        }

        return MerkleProofs.Root(treeSize, this);
    }

    /// <summary>The root of all leaves appended so far.</summary>
    public byte[] Root() => Root(Size);

    private void Write(int level, long index, ReadOnlySpan<byte> hash)
    {
        hash.CopyTo(Slot(level, index));
        _counts[level] = index + 1;
    }

    private Span<byte> Slot(int level, long index)
    {
        while (_levels.Count <= level)
        {
            _levels.Add(new byte[InitialCapacity * MerkleHash.Size]);
            _counts.Add(0);
        }

        var buffer = _levels[level];
        var offset = checked((int)(index * MerkleHash.Size));
        if (offset + MerkleHash.Size > buffer.Length)
        {
            // Doubling keeps appends amortised O(1). Arrays cap near 2 GiB (about 2^26 hashes per
            // level), which bounds what an in-memory tree is for.
            var grown = new byte[(int)Math.Min(Array.MaxLength, Math.Max(buffer.Length * 2L, offset + MerkleHash.Size))];
            buffer.CopyTo(grown, 0);
            _levels[level] = buffer = grown;
        }

        return buffer.AsSpan(offset, MerkleHash.Size);
    }
}

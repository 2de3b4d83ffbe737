namespace Stele.Storage;

/// <summary>
/// Holds the leaf and payload bytes of one chunk of <see cref="ISteleStore.ReadLedgerEntriesAsync"/>,
/// and is reused chunk after chunk: a verification copies every byte of the ledger out of the store,
/// and copying it into a few long-lived buffers instead of two fresh arrays per event keeps a pass over
/// a large ledger from doubling the garbage collector's work beside ingestion.
/// </summary>
/// <remarks>
/// The entries read into a buffer point into it: <see cref="Reset"/> it only once nothing reads them any more.
/// Not thread-safe; one chunk at a time.
/// </remarks>
public sealed class LedgerEntryBuffer
{
    // Below the large object heap's threshold, so a buffer that is never filled is an ordinary allocation.
    private const int InitialSize = 64 * 1024;

    private byte[] _bytes;
    private int _used;

    public LedgerEntryBuffer()
        : this(InitialSize)
    {
    }

    /// <summary>A buffer that starts at <paramref name="initialSize"/> bytes (tests make it grow mid-chunk).</summary>
    internal LedgerEntryBuffer(int initialSize) => _bytes = new byte[initialSize];

    /// <summary>Forgets the bytes held; entries read before must no longer be used.</summary>
    public void Reset() => _used = 0;

    /// <summary>Copies <paramref name="bytes"/> into the buffer.</summary>
    internal ReadOnlyMemory<byte> Copy(ReadOnlySpan<byte> bytes)
    {
        if (_bytes.Length - _used < bytes.Length)
        {
            // The entries already read keep the old array alive until they are done with; the rest of
            // this chunk and every later one use the larger array.
            _bytes = new byte[Math.Max(_bytes.Length * 2, bytes.Length)];
            _used = 0;
        }

        bytes.CopyTo(_bytes.AsSpan(_used));
        var copied = new ReadOnlyMemory<byte>(_bytes, _used, bytes.Length);
        _used += bytes.Length;
        return copied;
    }
}

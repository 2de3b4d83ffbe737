namespace Stele.Storage;

/// <summary>Chunk sequences for <see cref="ISteleStore.IndexChunksAsync"/>.</summary>
public static class IndexChunks
{
    /// <summary>The entries as the only chunk.</summary>
#pragma warning disable CS1998 // An iterator over a list in hand: nothing to await.
    public static async IAsyncEnumerable<IReadOnlyList<EventIndexEntry>> One(IReadOnlyList<EventIndexEntry> entries)
#pragma warning restore CS1998
    {
        yield return entries;
    }

    /// <summary>Throws unless the chunk's entries have consecutive seqs from <paramref name="first"/>.</summary>
    /// <exception cref="ArgumentException">A seq is out of place.</exception>
    public static void RequireConsecutive(IReadOnlyList<EventIndexEntry> entries, long first)
    {
        ArgumentNullException.ThrowIfNull(entries);
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Seq != first + i)
            {
                throw new ArgumentException($"Index entries must have consecutive seqs from {first}; entry {i} of the chunk has seq {entries[i].Seq}.", nameof(entries));
            }
        }
    }
}

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
}

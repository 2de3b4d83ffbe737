using Stele.Core.Verification;
using Stele.Storage.Alerts;

namespace Stele.Storage;

/// <summary>
/// The one storage contract. Every backend (SQLite, PostgreSQL) implements it and passes the same
/// conformance suite. Event, payload, tree and checkpoint rows are append-only: the contract has
/// no operation that changes or removes them, and the databases reject such statements too.
/// </summary>
public interface ISteleStore : IAlertStore, IAsyncDisposable
{
    /// <summary>Short backend name for logs: <c>sqlite</c> or <c>postgres</c>.</summary>
    string Backend { get; }

    /// <summary>Creates or migrates the schema, and refuses a database newer than this code.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    Task<LedgerInfo?> FindLedgerAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<LedgerInfo>> ListLedgersAsync(CancellationToken cancellationToken);

    /// <summary>Creates a ledger; returns null if one with that name exists.</summary>
    Task<LedgerInfo?> CreateLedgerAsync(string name, string? description, DateTimeOffset now, CancellationToken cancellationToken);

    Task<LedgerHead> GetHeadAsync(long ledgerId, CancellationToken cancellationToken);

    /// <summary>
    /// Appends events (consecutive seqs starting at <paramref name="expectedSize"/>) and the tree
    /// nodes they complete, in one durable transaction that writes no query index (see
    /// <see cref="IndexAsync"/>), serialised per ledger in the database (so several
    /// Stele nodes may share it). Returns <see cref="AppendStatus.Committed"/> only once the
    /// transaction is durable. If the ledger's size is not <paramref name="expectedSize"/> (another
    /// node appended) or an idempotency key is already stored, nothing is written and the caller
    /// reloads its state and tries again.
    /// </summary>
    Task<AppendStatus> AppendAsync(long ledgerId, long expectedSize, IReadOnlyList<StoredEvent> events, IReadOnlyList<StoredTreeNode> nodes, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="AppendAsync(long, long, IReadOnlyList{StoredEvent}, IReadOnlyList{StoredTreeNode}, CancellationToken)"/>
    /// with the batch's checkpoint, if it has one, in the same transaction: it is stored exactly
    /// when the events are, and not at all when they are not. The checkpoint's size must be the
    /// ledger's size after the batch.
    /// </summary>
    Task<AppendStatus> AppendAsync(long ledgerId, long expectedSize, AppendBatch batch, CancellationToken cancellationToken);

    /// <summary>
    /// Appends at the ledger's committed head while holding the ledger's lock (on PostgreSQL an
    /// advisory lock shared by every Stele node on the database): the store takes the lock, reads
    /// the head, and asks <paramref name="build"/> for the rows to append at that size. Writers
    /// therefore take turns in the order they asked (PostgreSQL grants waiting locks first come,
    /// first served), rather than a busy writer winning every optimistic race against another node.
    /// <paramref name="build"/> may read the store (on other connections; everything committed is
    /// visible) and returns an empty batch to write nothing. Never returns
    /// <see cref="AppendStatus.SizeConflict"/>.
    /// </summary>
    /// <remarks>The default serves single-process backends: read the head, build, and append with the optimistic size check, retrying on a conflict.</remarks>
    async Task<AppendStatus> AppendAtHeadAsync(long ledgerId, Func<LedgerHead, Task<AppendBatch>> build, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(build);
        while (true)
        {
            var head = await GetHeadAsync(ledgerId, cancellationToken).ConfigureAwait(false);
            var batch = await build(head).ConfigureAwait(false);
            var status = await AppendAsync(ledgerId, head.Size, batch, cancellationToken).ConfigureAwait(false);
            if (status != AppendStatus.SizeConflict)
            {
                return status;
            }
        }
    }

    /// <summary>The events already stored under any of these idempotency keys.</summary>
    Task<IReadOnlyList<StoredEvent>> FindByIdempotencyKeysAsync(long ledgerId, IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    Task<StoredEvent?> GetEventAsync(long ledgerId, string eventId, CancellationToken cancellationToken);

    /// <summary>
    /// One page of <c>GET /events</c>, newest first (or oldest first when <see cref="EventQuery.Ascending"/>).
    /// A query with filters is answered from the query indexes and is complete below
    /// <see cref="EventPage.IndexedSize"/>; one without filters reads the events themselves.
    /// </summary>
    Task<EventPage> QueryEventsAsync(long ledgerId, EventQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// How many events, from seq 0, the query indexes of the ledger cover (its durable index cursor); the
    /// search index may cover fewer (<see cref="GetSearchIndexedSizeAsync"/>).
    /// </summary>
    Task<long> GetIndexedSizeAsync(long ledgerId, CancellationToken cancellationToken);

    /// <summary>
    /// How many events, from seq 0, the search index of the ledger covers: at most <see cref="GetIndexedSizeAsync"/>,
    /// and what a query with <see cref="EventQuery.Search"/> is complete below. The default is for a store
    /// that writes the search index with the others.
    /// </summary>
    Task<long> GetSearchIndexedSizeAsync(long ledgerId, CancellationToken cancellationToken) => GetIndexedSizeAsync(ledgerId, cancellationToken);

    /// <summary>
    /// For a store that writes the search index in a stage of its own behind the others (it costs about as
    /// much as all of them): adds up to <paramref name="maxEvents"/> of the events the other indexes cover
    /// and the search index does not yet, in seq order, in one transaction that also moves the search
    /// cursor, and stops early once <paramref name="budget"/> has passed (after at least one slice).
    /// Returns how many events it added; 0 when the search index has caught up (or, by default, for a
    /// store with no such stage).
    /// </summary>
    Task<long> IndexSearchAsync(long ledgerId, int maxEvents, TimeSpan budget, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEvents);
        return Task.FromResult(0L);
    }

    /// <summary>
    /// Writes the query index rows of <paramref name="entries"/> (consecutive seqs starting at
    /// <paramref name="expectedIndexedSize"/>, all of them stored events) and moves the ledger's indexed
    /// size past them, in one transaction: after a crash the indexes and the cursor agree, so indexing
    /// resumes where it stopped and no event is ever missing from the indexes. Index writes are not on
    /// the durable path: the transaction need not be fsync'd, since a lost one is redone from the cursor.
    /// Returns <see cref="IndexStatus.CursorMoved"/>, writing nothing, when the indexed size is not
    /// <paramref name="expectedIndexedSize"/> (another indexer, e.g. on another node, got there first).
    /// </summary>
    /// <exception cref="ArgumentException">The entries are not consecutive from the expected size, or do not describe stored events.</exception>
    Task<IndexStatus> IndexAsync(long ledgerId, long expectedIndexedSize, IReadOnlyList<EventIndexEntry> entries, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="IndexAsync"/> over several chunks in one transaction, drawn from <paramref name="chunks"/>
    /// only as the previous one is written, so a transaction can hold many more events than memory holds
    /// entries: each index page a transaction touches is written once however many of its events land
    /// there, which is what makes large transactions cheaper per event. Each chunk continues the previous
    /// one's seqs. The cursor is checked before the first chunk is drawn; an invalid chunk, a failure or
    /// a cancellation while drawing or writing leaves the indexes and the cursor as they were.
    /// </summary>
    /// <exception cref="ArgumentException">A chunk does not continue the seqs, or does not describe stored events.</exception>
    Task<IndexStatus> IndexChunksAsync(long ledgerId, long expectedIndexedSize, IAsyncEnumerable<IReadOnlyList<EventIndexEntry>> chunks, CancellationToken cancellationToken);

    /// <summary>Events with fromSeq ≤ seq &lt; toSeq in seq order, read in pages.</summary>
    IAsyncEnumerable<StoredEvent> ReadRangeAsync(long ledgerId, long fromSeq, long toSeq, CancellationToken cancellationToken);

    /// <summary>
    /// What verification reads of the events with fromSeq ≤ seq &lt; toSeq, in seq order (a missing seq
    /// is absent): each one's seq, leaf, payload (null when erased) and stored leaf and chain hashes,
    /// and nothing else of the row. Meant for bounded chunks: the whole range is returned at once.
    /// With a <paramref name="buffer"/>, a backend may copy the leaves and payloads into it instead of
    /// into arrays of their own, so the entries are valid until the buffer is reset.
    /// </summary>
    /// <remarks>The default reads <see cref="ReadRangeAsync"/> and leaves the buffer unused; a backend may read less.</remarks>
    async Task<IReadOnlyList<LedgerEntry>> ReadLedgerEntriesAsync(long ledgerId, long fromSeq, long toSeq, LedgerEntryBuffer? buffer, CancellationToken cancellationToken)
    {
        var entries = new List<LedgerEntry>((int)Math.Clamp(toSeq - fromSeq, 0, 100_000));
        await foreach (var e in ReadRangeAsync(ledgerId, fromSeq, toSeq, cancellationToken).ConfigureAwait(false))
        {
            entries.Add(EventRows.Entry(e.Seq, e.Leaf, e.Payload, e.LeafHash, e.ChainHash));
        }

        return entries;
    }

    /// <summary>Concatenated 32-byte leaf hashes of seqs [start, start + count) (fewer if not stored).</summary>
    byte[] ReadLeafHashes(long ledgerId, long start, int count);

    /// <summary>Concatenated 32-byte node hashes at a tile-boundary level for indexes [start, start + count).</summary>
    byte[] ReadNodeHashes(long ledgerId, int level, long start, int count);

    /// <summary>Concatenated leaf byte strings of seqs [start, start + count), in order.</summary>
    IReadOnlyList<byte[]> ReadLeaves(long ledgerId, long start, int count);

    /// <summary>Payload byte strings of seqs [start, start + count); null where erased.</summary>
    IReadOnlyList<byte[]?> ReadPayloads(long ledgerId, long start, int count);

    Task AddCheckpointAsync(long ledgerId, StoredCheckpoint checkpoint, CancellationToken cancellationToken);

    Task<StoredCheckpoint?> GetLatestCheckpointAsync(long ledgerId, CancellationToken cancellationToken);

    /// <summary>All checkpoints with size in [fromSize, toSize], oldest first.</summary>
    Task<IReadOnlyList<StoredCheckpoint>> ListCheckpointsAsync(long ledgerId, long fromSize, long toSize, CancellationToken cancellationToken);

    Task AddApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken);

    Task<ApiKeyRecord?> FindApiKeyByPrefixAsync(string prefix, CancellationToken cancellationToken);

    Task<ApiKeyRecord?> GetApiKeyAsync(string id, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(string? ledger, CancellationToken cancellationToken);

    /// <summary>Marks a key revoked; false if it does not exist or was revoked already.</summary>
    Task<bool> RevokeApiKeyAsync(string id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Instance settings (a small key-value table), for example whether the bootstrap key was issued.</summary>
    Task<string?> GetSettingAsync(string name, CancellationToken cancellationToken);

    /// <summary>Sets a setting only if it is not set yet; returns false if it was.</summary>
    Task<bool> TrySetSettingAsync(string name, string value, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a new export job unless its ledger already created <paramref name="quota"/> exports at or
    /// after <paramref name="quotaSince"/>; the check and the insert are one atomic step, so
    /// concurrent requests cannot overrun the quota. Returns false (nothing written) when over quota.
    /// </summary>
    Task<bool> TryAddExportAsync(ExportJob job, DateTimeOffset quotaSince, long quota, CancellationToken cancellationToken);

    Task<ExportJob?> GetExportAsync(string id, CancellationToken cancellationToken);

    /// <summary>Jobs still to do (<c>queued</c> or <c>running</c>), oldest first.</summary>
    Task<IReadOnlyList<ExportJob>> ListUnfinishedExportsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Claims a job for <paramref name="worker"/> in one atomic step: a <c>queued</c> job, or a <c>running</c>
    /// one whose lease ended before <paramref name="now"/> (its worker died), becomes <c>running</c> with
    /// progress reset, <c>started_at = now</c> and a lease until <paramref name="leaseUntil"/> — unless
    /// <paramref name="perLedgerLimit"/> other jobs of its ledger hold live leases. Returns the claimed
    /// job, or null (nothing written) when the job is not claimable or the ledger is at its limit.
    /// </summary>
    Task<ExportJob?> TryClaimExportAsync(
        string id, string worker, DateTimeOffset now, DateTimeOffset leaseUntil, int perLedgerLimit, CancellationToken cancellationToken);

    /// <summary>
    /// Writes a job's state, progress, file, times and lease (everything but id, ledger, request and
    /// creation) if <see cref="ExportJob.Worker"/> still holds it. Returns false, writing nothing, when
    /// another worker took the job over (the lease was lost).
    /// </summary>
    Task<bool> UpdateExportAsync(ExportJob job, CancellationToken cancellationToken);

    /// <summary>How many exports of a ledger were created at or after <paramref name="since"/> (for the monthly quota).</summary>
    Task<long> CountExportsSinceAsync(long ledgerId, DateTimeOffset since, CancellationToken cancellationToken);
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stele.Server.Configuration;
using Stele.Server.Hosting;
using Stele.Server.Ingestion;
using Stele.Storage;

namespace Stele.Server.Indexing;

/// <summary>
/// Maintains the query indexes of <c>GET /events</c> behind the durable write path (DESIGN.md,
/// principle 3). Ingestion commits only events, payloads and tree nodes; this service then writes
/// the index rows of each ledger in seq order, many events per transaction, and advances the ledger's
/// durable cursor (<see cref="ISteleStore.GetIndexedSizeAsync"/>) in the same transaction. After a
/// crash or restart it resumes from the cursor, so no acknowledged event is ever missing from the
/// indexes for long, and queries say how far the indexes reach.
/// </summary>
/// <remarks>
/// <para>
/// The search index comes second: a store that writes it in a stage of its own (SQLite; see
/// <see cref="ISteleStore.IndexSearchAsync"/>) is given one bounded search transaction per ledger after each
/// round of the other indexes, so filters stay fresh under sustained ingestion while search, which costs
/// about as much as all of them, trails behind it and catches up when ingestion slows.
/// </para>
/// <para>
/// Entries of this node's own commits are handed over in memory (<see cref="SequencerRegistry.Committed"/>),
/// up to <see cref="MaxBufferedEntries"/> per ledger; everything else — a backlog after a restart or an
/// upgrade, events other nodes appended, or an overflow — is read back from the store and decoded from
/// the leaves and payloads. Every <see cref="PollInterval"/> all ledgers are compared with their cursors,
/// which is how ledgers written only by other nodes get indexed. On PostgreSQL several nodes may index
/// one ledger; the store serialises them and a node that lost the race reloads the cursor.
/// </para>
/// </remarks>
internal sealed partial class EventIndexer : BackgroundService
{
    /// <summary>How often every ledger is checked for events to index even without a local commit.</summary>
    public static TimeSpan PollInterval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>Entries kept in memory per ledger until indexed; beyond this they are read back from the store.</summary>
    public const int MaxBufferedEntries = 20_000;

    /// <summary>
    /// Fewer unindexed events than this wait up to <see cref="Linger"/> for more: every index transaction
    /// rewrites the index pages it touches and adds a search segment that is merged later, so a few
    /// large transactions cost far less than many small ones. A waiting export or test does not linger.
    /// </summary>
    public const int MinBatch = 1000;

    /// <summary>How long a small batch waits for more events; it bounds the visibility delay this adds.</summary>
    public static TimeSpan Linger { get; } = TimeSpan.FromMilliseconds(150);

    /// <summary>The most chunks (of the batch size each) one index transaction takes while the indexes are behind.</summary>
    public const int ChunksPerTransaction = 10;

    /// <summary>
    /// A transaction stops drawing chunks after this long, so its first events wait at most about this
    /// much longer to become visible than they would in a transaction of their own.
    /// </summary>
    public static TimeSpan MaxTransactionTime { get; } = TimeSpan.FromSeconds(1);

    /// <summary>The most events one search transaction adds.</summary>
    public const int SearchMaxEvents = 50_000;

    /// <summary>
    /// How long one search transaction runs at most (it stops after the slice in which this passes), so the
    /// other indexes wait at most about this long for their next transaction.
    /// </summary>
    public static TimeSpan SearchBudget { get; } = TimeSpan.FromMilliseconds(250);

    private readonly ISteleStore _store;
    private readonly IndexLagPacer _pacer;
    private readonly TimeProvider _clock;
    private readonly ILogger<EventIndexer> _logger;
    private readonly int _batchSize;
    private readonly ConcurrentDictionary<long, LedgerState> _ledgers = new();
    private readonly WakeSignal _wake = new();
    private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _paused;
    private int _waiters;

    public EventIndexer(ISteleStore store, SequencerRegistry sequencers, IndexLagPacer pacer, IOptions<SteleOptions> options, TimeProvider clock, ILogger<EventIndexer> logger)
    {
        _store = store;
        _pacer = pacer;
        _clock = clock;
        _logger = logger;
        _batchSize = options.Value.IndexBatchSize;
        sequencers.Committed += OnCommitted;
    }

    /// <summary>The indexed size of a ledger as this node last saw it (another node may be further).</summary>
    public long KnownIndexedSize(long ledgerId) => _ledgers.TryGetValue(ledgerId, out var state) ? Volatile.Read(ref state.Cursor) : 0;

    /// <summary>The search-indexed size of a ledger as this node last saw it.</summary>
    private long KnownSearchIndexedSize(long ledgerId) => _ledgers.TryGetValue(ledgerId, out var state) ? Volatile.Read(ref state.SearchCursor) : 0;

    /// <summary>Returns once the first <paramref name="size"/> events of the ledger are in every index, the search index included (by any node).</summary>
    public async Task WaitForIndexedAsync(LedgerInfo ledger, long size, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        Interlocked.Increment(ref _waiters);
        try
        {
            await WaitUntilIndexedAsync(ledger, size, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
        }
    }

    private async Task WaitUntilIndexedAsync(LedgerInfo ledger, long size, CancellationToken cancellationToken)
    {
        while (true)
        {
            var advanced = Volatile.Read(ref _advanced).Task;
            if (KnownSearchIndexedSize(ledger.Id) >= size || await _store.GetSearchIndexedSizeAsync(ledger.Id, cancellationToken).ConfigureAwait(false) >= size)
            {
                return;
            }

            Wake();
            await Task.WhenAny(advanced, Task.Delay(TimeSpan.FromMilliseconds(200), _clock, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Stops indexing until the returned handle is disposed (tests use it to hold the indexes back).</summary>
    internal IDisposable Pause()
    {
        Interlocked.Increment(ref _paused);
        return new Resumer(this);
    }

    private void OnCommitted(LedgerSequencer sequencer, IReadOnlyList<EventIndexEntry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        var state = _ledgers.GetOrAdd(sequencer.Ledger.Id, _ => new LedgerState(sequencer.Ledger));
        state.Offer(entries);
        Volatile.Write(ref state.KnownHead, Math.Max(Volatile.Read(ref state.KnownHead), entries[^1].Seq + 1));
        Interlocked.CompareExchange(ref state.PendingSince, _clock.GetTimestamp(), 0);
        Wake();
    }

    private void Wake() => _wake.Set();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastPoll = long.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (lastPoll == long.MinValue || _clock.GetElapsedTime(lastPoll) >= PollInterval)
                {
                    await PollHeadsAsync(stoppingToken).ConfigureAwait(false);
                    lastPoll = _clock.GetTimestamp();
                }

                var worked = false;
                var sleep = PollInterval;
                // Every ledger's other indexes first, then a search transaction for each.
                foreach (var search in new[] { false, true })
                {
                    foreach (var state in _ledgers.Values)
                    {
                        if (Volatile.Read(ref _paused) != 0)
                        {
                            continue;
                        }

                        if ((search ? SearchLingerLeft(state) : LingerLeft(state)) is { } left)
                        {
                            sleep = left < sleep ? left : sleep;
                            continue;
                        }

                        worked |= await (search ? SearchSomeAsync(state, stoppingToken) : IndexSomeAsync(state, stoppingToken)).ConfigureAwait(false);
                    }
                }

                if (!worked)
                {
                    await _wake.WaitAsync(sleep, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // The indexer must keep running; the failure is logged and retried from the durable cursor.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.IndexingFailed(_logger, ex);
                foreach (var state in _ledgers.Values)
                {
                    Volatile.Write(ref state.Cursor, -1);
                    Volatile.Write(ref state.SearchCursor, -1);
                    _pacer.Forget(state.Ledger.Id);
                }

                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _clock, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>How much longer a small batch of the ledger should wait for more events, or null to index now.</summary>
    private TimeSpan? LingerLeft(LedgerState state) =>
        LingerLeft(Volatile.Read(ref state.PendingSince), Volatile.Read(ref state.Cursor), Volatile.Read(ref state.KnownHead));

    /// <summary>
    /// The same for the search index, which waits for more events the other indexes cover (it also runs
    /// when its cursor is unknown, to load it, or has nothing to do).
    /// </summary>
    private TimeSpan? SearchLingerLeft(LedgerState state) =>
        LingerLeft(Volatile.Read(ref state.SearchPendingSince), Volatile.Read(ref state.SearchCursor), Volatile.Read(ref state.Cursor));

    /// <summary>How much longer an index whose cursor is at <paramref name="from"/>, with events waiting up to <paramref name="to"/> since <paramref name="pendingSince"/>, should wait for more; null to index now.</summary>
    private TimeSpan? LingerLeft(long pendingSince, long from, long to)
    {
        if (pendingSince == 0 || from < 0 || to < 0 || Volatile.Read(ref _waiters) > 0 || to - from >= Math.Min(MinBatch, _batchSize))
        {
            return null;
        }

        var left = Linger - _clock.GetElapsedTime(pendingSince);
        return left > TimeSpan.Zero ? left : null;
    }

    /// <summary>One search transaction for the ledger if its search index trails the others; false when it did nothing.</summary>
    private async Task<bool> SearchSomeAsync(LedgerState state, CancellationToken cancellationToken)
    {
        var cursor = Volatile.Read(ref state.Cursor);
        var searched = Volatile.Read(ref state.SearchCursor);
        if (cursor < 0 || (searched >= 0 && searched >= cursor))
        {
            return false;
        }

        if (searched < 0)
        {
            searched = await _store.GetSearchIndexedSizeAsync(state.Ledger.Id, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref state.SearchCursor, searched);
            if (searched >= cursor)
            {
                return false;
            }
        }

        var added = await _store.IndexSearchAsync(state.Ledger.Id, SearchMaxEvents, SearchBudget, cancellationToken).ConfigureAwait(false);
        if (added == 0)
        {
            // Written with the other indexes (or by another node): take the store's word.
            Volatile.Write(ref state.SearchCursor, await _store.GetSearchIndexedSizeAsync(state.Ledger.Id, cancellationToken).ConfigureAwait(false));
            Volatile.Write(ref state.SearchPendingSince, 0);
            return false;
        }

        searched += added;
        Volatile.Write(ref state.SearchCursor, searched);
        Volatile.Write(ref state.SearchPendingSince, searched >= Volatile.Read(ref state.Cursor) ? 0 : 1);
        SignalAdvanced();
        Log.Searchable(_logger, state.Ledger.Name, added, searched);
        return true;
    }

    /// <summary>Every ledger's head, for backlogs and for events appended by other nodes.</summary>
    private async Task PollHeadsAsync(CancellationToken cancellationToken)
    {
        foreach (var ledger in await _store.ListLedgersAsync(cancellationToken).ConfigureAwait(false))
        {
            var state = _ledgers.GetOrAdd(ledger.Id, _ => new LedgerState(ledger));
            var head = await _store.GetHeadAsync(ledger.Id, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref state.KnownHead, Math.Max(Volatile.Read(ref state.KnownHead), head.Size));
            if (Volatile.Read(ref state.Cursor) < 0 || head.Size > Volatile.Read(ref state.Cursor))
            {
                // Another node may have indexed meanwhile: reload the cursor before reading anything back.
                SetCursor(state, await _store.GetIndexedSizeAsync(ledger.Id, cancellationToken).ConfigureAwait(false));
            }
        }
    }

    /// <summary>
    /// Indexes unindexed events of the ledger in one transaction if it has any; false when it had none.
    /// The transaction starts with one chunk (up to the batch size) and, while a whole further chunk is
    /// waiting, draws more, up to <see cref="ChunksPerTransaction"/> chunks or <see cref="MaxTransactionTime"/>:
    /// an indexer that has fallen behind writes each index page once for many events, and catches up
    /// sooner. Only the chunk being written is held in memory.
    /// </summary>
    private async Task<bool> IndexSomeAsync(LedgerState state, CancellationToken cancellationToken)
    {
        var cursor = Volatile.Read(ref state.Cursor);
        if (cursor < 0)
        {
            cursor = await _store.GetIndexedSizeAsync(state.Ledger.Id, cancellationToken).ConfigureAwait(false);
            SetCursor(state, cursor);
        }

        if (cursor >= Volatile.Read(ref state.KnownHead))
        {
            return false;
        }

        var (first, fromStore) = await NextChunkAsync(state, cursor, cancellationToken).ConfigureAwait(false);
        if (first.Count == 0)
        {
            // The head this node knew of is not in the store (it was never committed): take the store's word.
            Volatile.Write(ref state.KnownHead, cursor);
            return false;
        }

        var started = _clock.GetTimestamp();
        var drawn = 0L;
        var chunks = 0;
        async IAsyncEnumerable<IReadOnlyList<EventIndexEntry>> Chunks()
        {
            var chunk = first;
            while (true)
            {
                drawn += chunk.Count;
                chunks++;
                yield return chunk;
                var next = cursor + drawn;
                if (chunks >= ChunksPerTransaction || _clock.GetElapsedTime(started) >= MaxTransactionTime
                    || Volatile.Read(ref _waiters) > 0 || Volatile.Read(ref _paused) != 0
                    || Volatile.Read(ref state.KnownHead) - next < _batchSize)
                {
                    yield break;
                }

                (chunk, var read) = await NextChunkAsync(state, next, cancellationToken).ConfigureAwait(false);
                fromStore |= read;
                if (chunk.Count == 0)
                {
                    yield break;
                }
            }
        }

        var status = await _store.IndexChunksAsync(state.Ledger.Id, cursor, Chunks(), cancellationToken).ConfigureAwait(false);
        if (status == IndexStatus.CursorMoved)
        {
            SetCursor(state, await _store.GetIndexedSizeAsync(state.Ledger.Id, cancellationToken).ConfigureAwait(false));
            Log.CursorMoved(_logger, state.Ledger.Name, cursor);
            return true;
        }

        var indexed = cursor + drawn;
        SetCursor(state, indexed);
        // Events committed after this point start a new linger; any already waiting are indexed next without one.
        Volatile.Write(ref state.PendingSince, indexed >= Volatile.Read(ref state.KnownHead) ? 0 : 1);
        state.Release(indexed);
        Interlocked.CompareExchange(ref state.SearchPendingSince, _clock.GetTimestamp(), 0);
        SignalAdvanced();
        Log.Indexed(_logger, state.Ledger.Name, drawn, chunks, indexed, fromStore);
        return true;
    }

    /// <summary>Wakes everyone waiting for an index to move.</summary>
    private void SignalAdvanced() =>
        Interlocked.Exchange(ref _advanced, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Records the ledger's indexed size as this node now knows it, and tells the pacer.</summary>
    private void SetCursor(LedgerState state, long indexedSize)
    {
        Volatile.Write(ref state.Cursor, indexedSize);
        _pacer.Indexed(state.Ledger.Id, indexedSize);
    }

    /// <summary>Up to a batch of entries from <paramref name="from"/>: from this node's buffer, or read back from the store; empty when the store has none there.</summary>
    private async Task<(IReadOnlyList<EventIndexEntry> Entries, bool FromStore)> NextChunkAsync(LedgerState state, long from, CancellationToken cancellationToken)
    {
        if (state.Take(from, _batchSize, out var bufferStart) is { } buffered)
        {
            return (buffered, false);
        }

        var end = Math.Min(from + _batchSize, bufferStart ?? long.MaxValue);
        return (await ReadBackAsync(state.Ledger, from, end, cancellationToken).ConfigureAwait(false), true);
    }

    private async Task<List<EventIndexEntry>> ReadBackAsync(LedgerInfo ledger, long from, long to, CancellationToken cancellationToken)
    {
        var entries = new List<EventIndexEntry>();
        await foreach (var stored in _store.ReadRangeAsync(ledger.Id, from, to, cancellationToken).ConfigureAwait(false))
        {
            if (stored.Seq != from + entries.Count)
            {
                break;
            }

            var entry = EventIndexEntries.FromStored(stored);
            if (entry is null)
            {
                Log.Undecodable(_logger, ledger.Name, stored.Seq);
                entry = EventIndexEntries.Undecodable(stored);
            }

            entries.Add(entry);
        }

        return entries;
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private sealed class Resumer(EventIndexer indexer) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref indexer._paused);
                indexer.Wake();
            }
        }
    }

    /// <summary>A ledger's cursor, the head this node knows of, and the entries of its own commits not yet indexed.</summary>
    private sealed class LedgerState(LedgerInfo ledger)
    {
        private readonly List<EventIndexEntry> _buffer = [];

        public LedgerInfo Ledger { get; } = ledger;

        /// <summary>The durable indexed size as last read or written; -1 when unknown.</summary>
#pragma warning disable SA1401, CA1051 // Fields: read and written with Volatile.
        public long Cursor = -1;

        public long KnownHead;

        /// <summary>When the ledger's indexes first fell behind its head (a timestamp), 0 when caught up, 1 when events wait already.</summary>
        public long PendingSince;

        /// <summary>The durable search-indexed size as last read or written; -1 when unknown.</summary>
        public long SearchCursor = -1;

        /// <summary>When the search index first fell behind the others (a timestamp), 0 when caught up, 1 when events wait already.</summary>
        public long SearchPendingSince;
#pragma warning restore SA1401, CA1051

        /// <summary>Buffers a commit's entries if they continue the buffer (consecutive seqs) and it has room.</summary>
        public void Offer(IReadOnlyList<EventIndexEntry> entries)
        {
            lock (_buffer)
            {
                if (_buffer.Count > 0 && _buffer[^1].Seq + 1 != entries[0].Seq)
                {
                    // A gap (entries were dropped when the buffer was full): these are read back from the store.
                    return;
                }

                if (_buffer.Count + entries.Count <= MaxBufferedEntries)
                {
                    _buffer.AddRange(entries);
                }
            }
        }

        /// <summary>
        /// Up to <paramref name="max"/> buffered entries starting at <paramref name="cursor"/>, or null when the
        /// buffer does not start there (then <paramref name="bufferStart"/> says where it starts, if anywhere).
        /// </summary>
        public List<EventIndexEntry>? Take(long cursor, int max, out long? bufferStart)
        {
            lock (_buffer)
            {
                Release(cursor);
                bufferStart = _buffer.Count > 0 ? _buffer[0].Seq : null;
                return bufferStart == cursor ? _buffer.GetRange(0, Math.Min(max, _buffer.Count)) : null;
            }
        }

        /// <summary>Drops the buffered entries below <paramref name="indexedSize"/>.</summary>
        public void Release(long indexedSize)
        {
            lock (_buffer)
            {
                var drop = 0;
                while (drop < _buffer.Count && _buffer[drop].Seq < indexedSize)
                {
                    drop++;
                }

                _buffer.RemoveRange(0, drop);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5001, Level = LogLevel.Debug, Message = "Ledger {Ledger}: indexed {Events} events in {Chunks} chunks; indexed size {Size} (read back from the store: {FromStore})")]
        public static partial void Indexed(ILogger logger, string ledger, long events, int chunks, long size, bool fromStore);

        [LoggerMessage(EventId = 5002, Level = LogLevel.Debug, Message = "Ledger {Ledger}: another indexer moved the cursor past {Size}; reloading it")]
        public static partial void CursorMoved(ILogger logger, string ledger, long size);

        [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "Indexing failed; retrying from the durable cursor")]
        public static partial void IndexingFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 5005, Level = LogLevel.Debug, Message = "Ledger {Ledger}: added {Events} events to the search index; search-indexed size {Size}")]
        public static partial void Searchable(ILogger logger, string ledger, long events, long size);

        [LoggerMessage(EventId = 5004, Level = LogLevel.Critical, Message = "Ledger {Ledger}: the leaf at seq {Seq} is not a v1 leaf; it is indexed without its fields. Run GET /verify.")]
        public static partial void Undecodable(ILogger logger, string ledger, long seq);
    }
}

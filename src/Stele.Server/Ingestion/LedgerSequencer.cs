using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Stele.Core.Events;
using Stele.Core.Merkle;
using Stele.Core.Verification;
using Stele.Server.Indexing;
using Stele.Server.Integrity;
using Stele.Storage;

namespace Stele.Server.Ingestion;

/// <summary>
/// The one writer of a ledger on this node. Requests queue here; a single loop takes everything
/// queued (up to a limit), assigns gap-free seqs, encodes and hashes the events, and writes them
/// in one transaction — one fsync for many requests (group commit). Each request is answered only
/// after the commit that holds its events is durable. When a checkpoint is due, the commit also
/// writes one signing the ledger as the commit leaves it, so it is durable with the events.
/// </summary>
internal sealed partial class LedgerSequencer : IAsyncDisposable
{
    // Catching up reads one leaf hash per missed event in one query; beyond this many, rebuilding
    // from the stored tree (a few tile reads) is cheaper.
    private const long MaxCatchUpEvents = 4096;
    private const int MaxConflictsPerGroup = 1000;

    // How many recent commits the checkpoint decision looks at: the longest took, and the most events one wrote.
    private const int RecentCommitsKept = 4;

    private readonly ISteleStore _store;
    private readonly CheckpointSchedule _schedule;
    private readonly IndexLagPacer _pacer;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly int _maxEventsPerCommit;
    private readonly Channel<Submission> _queue = Channel.CreateUnbounded<Submission>(new UnboundedChannelOptions { SingleReader = true });
    private Task? _loop;

    // Committed state; only the loop writes it.
    private long _size;
    private byte[] _chainHead = [];
    private CompactRange _range = new();
    private TileBoundaryTracker _tiles = new();
    private long _lastReceivedMicros;
    private LedgerSnapshot? _snapshot;

    // Commits acknowledged since the newest checkpoint (its size and when it was answered), oldest
    // first; how long the last few took from signing to durable, and how many events each wrote.
    // Only the loop uses them.
    private readonly Queue<(long EndSize, DateTimeOffset AcknowledgedAt)> _uncovered = new();
    private readonly (TimeSpan Took, int Events)[] _recentCommits = new (TimeSpan, int)[RecentCommitsKept];
    private int _commits;

    public LedgerSequencer(LedgerInfo ledger, ISteleStore store, CheckpointSchedule schedule, IndexLagPacer pacer, TimeProvider clock, int maxEventsPerCommit, ILogger logger)
    {
        Ledger = ledger;
        _store = store;
        _schedule = schedule;
        _pacer = pacer;
        _clock = clock;
        _maxEventsPerCommit = maxEventsPerCommit;
        _logger = logger;
    }

    public LedgerInfo Ledger { get; }

    /// <summary>The latest committed state, or null before start.</summary>
    public LedgerSnapshot? Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>Raised after each commit that wrote events, with their query index entries (for the indexer).</summary>
    public event Action<LedgerSequencer, IReadOnlyList<EventIndexEntry>>? Committed;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await LoadStateAsync(cancellationToken).ConfigureAwait(false);
        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <summary>Queues events and returns once they are durable (or duplicates of durable ones).</summary>
    public async Task<IReadOnlyList<AppendOutcome>> AppendAsync(IReadOnlyList<ParsedEvent> events, CancellationToken cancellationToken)
    {
        var submission = new Submission(events);
        if (!_queue.Writer.TryWrite(submission))
        {
            throw new InvalidOperationException("The ledger sequencer is stopping.");
        }

        // The caller may stop waiting, but the events still commit or fail as one group.
        return await submission.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Signs and stores a checkpoint of the ledger's committed state if it grew since the newest
    /// one: with the next group commit if events are queued, or on its own. The request goes
    /// through the queue, so a ledger's checkpoints are written by its sequencer one at a time and
    /// never two for one moment. Call only after the ledger's stored tree was checked (see
    /// <see cref="CheckpointService"/>).
    /// </summary>
    public async Task RequestCheckpointAsync(CancellationToken cancellationToken)
    {
        var request = new Submission([], checkpointRequested: true);
        if (!_queue.Writer.TryWrite(request))
        {
            throw new InvalidOperationException("The ledger sequencer is stopping.");
        }

        await request.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

    }

    private async Task LoadStateAsync(CancellationToken cancellationToken)
    {
        var head = await _store.GetHeadAsync(Ledger.Id, cancellationToken).ConfigureAwait(false);
        _size = head.Size;
        _chainHead = head.ChainHead ?? ChainHash.Genesis(Ledger.Name);
        var source = StoredTiles.NodeSource(_store, Ledger.Id, _size);
        _range = CompactRange.Restore(_size, source);
        _tiles = TileBoundaryTracker.Load(_size, (level, start, count) =>
            level == 0 ? _store.ReadLeafHashes(Ledger.Id, start, count) : _store.ReadNodeHashes(Ledger.Id, level, start, count));
        _lastReceivedMicros = await ReadLastReceivedMicrosAsync(_size, cancellationToken).ConfigureAwait(false);
        Publish();
        Log.SequencerLoaded(_logger, Ledger.Name, _size);
    }

    /// <summary>
    /// Brings the state to the store's head, read under the ledger's lock: another node may have
    /// appended since this node last wrote (shared PostgreSQL). Rather than rebuilding
    /// everything, read only the leaf hashes appended since this node's size and extend the chain
    /// head, compact range and tile tracker with them. The chain hash recomputed over those leaves
    /// must equal the one the other node stored, or the state is rebuilt from the store in full.
    /// </summary>
    private async Task CatchUpAsync(LedgerHead head, CancellationToken cancellationToken)
    {
        var missing = head.Size - _size;
        // Nothing appended elsewhere: the usual case on a single node (an empty ledger has no stored chain head).
        if (missing == 0 && (head.ChainHead is null ? _size == 0 : head.ChainHead.AsSpan().SequenceEqual(_chainHead)))
        {
            return;
        }

        if (missing <= 0 || missing > MaxCatchUpEvents)
        {
            await LoadStateAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var hashes = _store.ReadLeafHashes(Ledger.Id, _size, (int)missing);
        if (hashes.Length != missing * MerkleHash.Size)
        {
            await LoadStateAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var chain = _chainHead;
        var range = _range.Clone();
        var tiles = _tiles.Clone();
        var discarded = new List<StoredTreeNode>();
        for (var i = 0; i < missing; i++)
        {
            var leaf = hashes.AsSpan(i * MerkleHash.Size, MerkleHash.Size).ToArray();
            chain = ChainHash.Next(chain, leaf);
            range.Append(leaf);

            // The nodes these leaves complete were stored by the node that appended them.
            tiles.Append(leaf, discarded);
        }

        if (head.ChainHead is null || !chain.AsSpan().SequenceEqual(head.ChainHead))
        {
            Log.CatchUpChainMismatch(_logger, Ledger.Name, _size, head.Size);
            await LoadStateAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var previous = _size;
        _size = head.Size;
        _chainHead = chain;
        _range = range;
        _tiles = tiles;
        _lastReceivedMicros = Math.Max(_lastReceivedMicros, await ReadLastReceivedMicrosAsync(_size, cancellationToken).ConfigureAwait(false));
        Publish();
        Log.CaughtUp(_logger, Ledger.Name, previous, _size);
    }

    /// <summary>received_at of the last stored event, so it never goes backwards across nodes whose clocks differ.</summary>
    private async Task<long> ReadLastReceivedMicrosAsync(long size, CancellationToken cancellationToken)
    {
        long last = 0;
        if (size > 0)
        {
            await foreach (var e in _store.ReadRangeAsync(Ledger.Id, size - 1, size, cancellationToken).ConfigureAwait(false))
            {
                last = e.ReceivedAtMicros;
            }
        }

        return last;
    }

    private void Publish() => Volatile.Write(ref _snapshot, new LedgerSnapshot(_size, _range.Clone(), (byte[])_chainHead.Clone()));

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var group = new List<Submission>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Held back briefly while the query indexes trail far behind; requests queue up meanwhile and join the group.
            var held = await _pacer.WaitAsync(Ledger.Id, _size, CancellationToken.None).ConfigureAwait(false);
            if (held > TimeSpan.Zero)
            {
                Log.Held(_logger, Ledger.Name, (long)held.TotalMilliseconds, _size);
            }

            group.Clear();
            var count = 0;
            while (count < _maxEventsPerCommit && reader.TryRead(out var submission))
            {
                group.Add(submission);
                count += submission.Events.Count;
            }

            try
            {
                // The group is sequenced from this node's state; if another node appended, or
                // stored one of the group's idempotency keys in between, the store writes nothing
                // and the group is sequenced again under the ledger's lock, after catching up (a
                // key found then is answered as a duplicate). Requests that queued meanwhile join
                // the retry.
                var attempts = 0;
                while (!await CommitAsync(group, underLock: attempts > 0).ConfigureAwait(false))
                {
                    if (++attempts == MaxConflictsPerGroup)
                    {
                        throw new InvalidOperationException($"Ledger {Ledger.Name}: gave up after {attempts} append conflicts.");
                    }

                    while (count < _maxEventsPerCommit && reader.TryRead(out var late))
                    {
                        group.Add(late);
                        count += late.Events.Count;
                    }
                }
            }
#pragma warning disable CA1031 // A failed commit fails its requests; the loop must go on for the next ones.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.CommitFailed(_logger, ex, Ledger.Name, count);
                foreach (var submission in group)
                {
                    submission.Completion.TrySetException(ex);
                }

                // What is durable is whatever the database says: reload rather than guess.
                try
                {
                    await LoadStateAsync(CancellationToken.None).ConfigureAwait(false);
                }
#pragma warning disable CA1031
                catch (Exception reloadError)
#pragma warning restore CA1031
                {
                    Log.CommitFailed(_logger, reloadError, Ledger.Name, 0);
                }
            }
        }
    }

    /// <summary>
    /// Sequences and writes one group; false when the store reports a conflict (nothing written).
    /// A first attempt is built from the state this node holds and the store checks the ledger's
    /// size as it writes (one round trip on PostgreSQL). After a conflict (another node appended,
    /// or an idempotency key arrived meanwhile) the group is built under the ledger's lock from the
    /// head read there, so nodes sharing a ledger take turns instead of racing.
    /// </summary>
    private async Task<bool> CommitAsync(List<Submission> group, bool underLock)
    {
        Prepared? prepared = null;
        StoredCheckpoint? checkpoint = null;
        var signedAt = 0L;
        var requested = group.Exists(s => s.CheckpointRequested);
        async Task<AppendBatch> BuildAsync()
        {
            prepared = await PrepareAsync(group).ConfigureAwait(false);
            checkpoint = prepared.Rows.Count > 0 ? SignIfDue(prepared, requested) : null;
            signedAt = _clock.GetTimestamp();
            return new AppendBatch(prepared.Rows, prepared.Nodes, checkpoint);
        }

        AppendStatus status;
        if (underLock)
        {
            status = await _store.AppendAtHeadAsync(
                Ledger.Id,
                async head =>
                {
                    await CatchUpAsync(head, CancellationToken.None).ConfigureAwait(false);
                    return await BuildAsync().ConfigureAwait(false);
                },
                CancellationToken.None).ConfigureAwait(false);
        }
        else
        {
            var batch = await BuildAsync().ConfigureAwait(false);
            status = await _store.AppendAsync(Ledger.Id, _size, batch, CancellationToken.None).ConfigureAwait(false);
        }
        if (status != AppendStatus.Committed || prepared is null)
        {
            Log.AppendConflict(_logger, Ledger.Name, status.ToString(), _size);
            return false;
        }

        if (prepared.Rows.Count > 0)
        {
            _recentCommits[_commits++ % RecentCommitsKept] = (_clock.GetElapsedTime(signedAt), prepared.Rows.Count);
        }

        if (checkpoint is not null)
        {
            Stored(checkpoint);
            Log.SignedInCommit(_logger, Ledger.Name, checkpoint.Size);
        }
        else if (prepared.Rows.Count > 0)
        {
            _uncovered.Enqueue((prepared.Size, _clock.GetUtcNow()));
        }

        _size = prepared.Size;
        _chainHead = prepared.Chain;
        _range = prepared.Range;
        _tiles = prepared.Tiles;
        _lastReceivedMicros = prepared.ReceivedMicros;
        Publish();

        for (var s = 0; s < group.Count; s++)
        {
            if (!group[s].CheckpointRequested)
            {
                group[s].Completion.TrySetResult(prepared.Outcomes[s]);
            }
        }

        if (prepared.Rows.Count > 0)
        {
            // Requests that carried events; a checkpoint request from the loop is not one.
            Log.Committed(_logger, Ledger.Name, prepared.Rows.Count, group.Count(s => !s.CheckpointRequested), _size);
            Committed?.Invoke(this, prepared.IndexEntries);
        }

        if (requested)
        {
            await AnswerCheckpointRequestsAsync(group, signedInCommit: prepared.Rows.Count > 0).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>
    /// Answers the checkpoint loop's requests in a committed group. A commit that wrote events
    /// signed them; with nothing to commit, the state as it is gets its checkpoint now. A failure
    /// here fails only the requests (the loop logs it and tries again), not the group's events.
    /// </summary>
    private async Task AnswerCheckpointRequestsAsync(List<Submission> group, bool signedInCommit)
    {
        Exception? failure = null;
        if (!signedInCommit)
        {
            try
            {
                await CheckpointCommittedStateAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Handed to the requests, whose caller logs it.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failure = ex;
            }
        }

        foreach (var request in group.Where(s => s.CheckpointRequested))
        {
            if (failure is null)
            {
                request.Completion.TrySetResult([]);
            }
            else
            {
                request.Completion.TrySetException(failure);
            }
        }
    }

    /// <summary>
    /// A checkpoint of the ledger as <paramref name="prepared"/> leaves it, when one is due
    /// (<see cref="CheckpointSchedule.IsDue"/>); null when not, or before the ledger's stored tree
    /// has been checked, or once signing was refused for it.
    /// </summary>
    private StoredCheckpoint? SignIfDue(Prepared prepared, bool requested)
    {
        if (_schedule.IsRefused(Ledger.Name) || !_schedule.TryGetLatest(Ledger.Name, out var latest))
        {
            return null;
        }

        // Commits the checkpoint loop (or another node) covered meanwhile are no longer waiting.
        while (_uncovered.TryPeek(out var oldest) && oldest.EndSize <= latest.Size)
        {
            _uncovered.Dequeue();
        }

        DateTimeOffset? waitingSince = _uncovered.TryPeek(out var first) ? first.AcknowledgedAt : null;
        var commitTime = _recentCommits.Max(c => c.Took);
        var largestRecent = Math.Max(prepared.Rows.Count, _recentCommits.Max(c => c.Events));
        var due = requested || CheckpointSchedule.IsDue(largestRecent, _clock.GetUtcNow(), latest.At, waitingSince, commitTime, _schedule.Interval);
        return due ? _schedule.Sign(Ledger.Name, prepared.Size, prepared.Range.Root(), prepared.Chain) : null;
    }

    /// <summary>Signs and stores the committed state if it grew since the newest checkpoint (this node's or another's).</summary>
    private async Task CheckpointCommittedStateAsync()
    {
        if (_schedule.IsRefused(Ledger.Name) || !_schedule.TryGetLatest(Ledger.Name, out var latest) || _size <= latest.Size)
        {
            return;
        }

        // Other nodes sharing the database sign too: skip a size that one of them covered already.
        // (A race may still store a smaller checkpoint after a larger one; every checkpoint signs a
        // real prefix of the one ledger, so that is harmless, and an equal size is ignored by the store.)
        var newest = await _store.GetLatestCheckpointAsync(Ledger.Id, CancellationToken.None).ConfigureAwait(false);
        if (newest is not null && newest.Size >= _size)
        {
            _schedule.Record(Ledger.Name, newest.Size, _clock.GetUtcNow());
            return;
        }

        var record = _schedule.Sign(Ledger.Name, _size, _range.Root(), _chainHead);
        await _store.AddCheckpointAsync(Ledger.Id, record, CancellationToken.None).ConfigureAwait(false);
        Stored(record);
        Log.Signed(_logger, Ledger.Name, record.Size);
    }

    /// <summary>After a checkpoint is durable: the schedule knows it, and no acknowledged event waits any more.</summary>
    private void Stored(StoredCheckpoint checkpoint)
    {
        _schedule.Record(Ledger.Name, checkpoint.Size, checkpoint.CreatedAt);
        _uncovered.Clear();
    }

    /// <summary>Assigns seqs from the current state, encodes and hashes the group; changes no state.</summary>
    private async Task<Prepared> PrepareAsync(List<Submission> group)
    {
        // Idempotency: keys already stored return the stored event; a key repeated inside the
        // group returns the first event that carried it.
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var submission in group)
        {
            foreach (var e in submission.Events)
            {
                if (e.IdempotencyKey is not null)
                {
                    keys.Add(e.IdempotencyKey);
                }
            }
        }

        var known = new Dictionary<string, StoredEvent>(StringComparer.Ordinal);
        if (keys.Count > 0)
        {
            foreach (var existing in await _store.FindByIdempotencyKeysAsync(Ledger.Id, keys, CancellationToken.None).ConfigureAwait(false))
            {
                known[existing.IdempotencyKey!] = existing;
            }
        }

        var size = _size;
        var chain = _chainHead;
        var range = _range.Clone();
        var tiles = _tiles.Clone();
        var rows = new List<StoredEvent>();
        var indexEntries = new List<EventIndexEntry>();
        var nodes = new List<StoredTreeNode>();
        var outcomes = new List<AppendOutcome[]>(group.Count);
        var now = _clock.GetUtcNow();
        // received_at never goes backwards within a ledger, even if the wall clock does.
        var receivedMicros = Math.Max(ToMicros(now), _lastReceivedMicros);
        var receivedAt = FromMicros(receivedMicros);

        foreach (var submission in group)
        {
            var results = new AppendOutcome[submission.Events.Count];
            for (var i = 0; i < submission.Events.Count; i++)
            {
                var parsed = submission.Events[i];
                if (parsed.IdempotencyKey is { } key && known.TryGetValue(key, out var original))
                {
                    results[i] = new AppendOutcome(original, true);
                    continue;
                }

                var id = Stele.Core.Events.EventId.New(receivedAt);
                var encoded = EventEncoderV1.Encode(parsed.Record, Ledger.Name, size, id, receivedAt, parsed.Payload);
                chain = ChainHash.Next(chain, encoded.LeafHash);
                range.Append(encoded.LeafHash);
                tiles.Append(encoded.LeafHash, nodes);
                var row = new StoredEvent
                {
                    Seq = size,
                    Id = id,
                    ReceivedAtMicros = receivedMicros,
                    IdempotencyKey = parsed.IdempotencyKey,
                    Leaf = encoded.Leaf,
                    LeafHash = encoded.LeafHash,
                    ChainHash = chain,
                    Payload = encoded.Payload,
                };
                rows.Add(row);
                indexEntries.Add(EventIndexEntries.FromRecord(size, id, parsed.Record, parsed.SearchText));
                results[i] = new AppendOutcome(row, false, new EncodedView(parsed.Record, receivedAt, encoded.PayloadDigest));
                if (parsed.IdempotencyKey is { } newKey)
                {
                    known[newKey] = row;
                }

                size++;
            }

            outcomes.Add(results);
        }

        return new Prepared(rows, indexEntries, nodes, outcomes, size, chain, range, tiles, receivedMicros);
    }

    internal static long ToMicros(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    internal static DateTimeOffset FromMicros(long micros) => DateTimeOffset.UnixEpoch.AddTicks(micros * 10);

    private sealed record Prepared(
        List<StoredEvent> Rows,
        List<EventIndexEntry> IndexEntries,
        List<StoredTreeNode> Nodes,
        List<AppendOutcome[]> Outcomes,
        long Size,
        byte[] Chain,
        CompactRange Range,
        TileBoundaryTracker Tiles,
        long ReceivedMicros);

    private sealed class Submission(IReadOnlyList<ParsedEvent> events, bool checkpointRequested = false)
    {
        public IReadOnlyList<ParsedEvent> Events { get; } = events;

        /// <summary>A request from the checkpoint loop (with no events): the group signs what it commits, or the state as it is.</summary>
        public bool CheckpointRequested { get; } = checkpointRequested;

        public TaskCompletionSource<IReadOnlyList<AppendOutcome>> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Ledger {Ledger} opened at size {Size}")]
        public static partial void SequencerLoaded(ILogger logger, string ledger, long size);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Ledger {Ledger} committed {Events} events from {Requests} requests; size {Size}")]
        public static partial void Committed(ILogger logger, string ledger, int events, int requests, long size);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Debug, Message = "Ledger {Ledger}: append at size {Size} met {Conflict}; catching up and retrying")]
        public static partial void AppendConflict(ILogger logger, string ledger, string conflict, long size);

        [LoggerMessage(EventId = 1005, Level = LogLevel.Debug, Message = "Ledger {Ledger}: caught up from size {From} to {To} (appended by another node)")]
        public static partial void CaughtUp(ILogger logger, string ledger, long from, long to);

        [LoggerMessage(EventId = 1006, Level = LogLevel.Critical, Message = "Ledger {Ledger}: the chain hash recomputed over the leaves stored from {From} to {To} differs from the stored chain head; reloading from the store. Run GET /verify.")]
        public static partial void CatchUpChainMismatch(ILogger logger, string ledger, long from, long to);

        [LoggerMessage(EventId = 1007, Level = LogLevel.Debug, Message = "Ledger {Ledger}: signed checkpoint at size {Size} in the group commit")]
        public static partial void SignedInCommit(ILogger logger, string ledger, long size);

        [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Signed checkpoint of ledger {Ledger} at size {Size}")]
        public static partial void Signed(ILogger logger, string ledger, long size);

        [LoggerMessage(EventId = 1008, Level = LogLevel.Debug, Message = "Ledger {Ledger}: held the next commit {Milliseconds} ms at size {Size} while the query indexes trailed")]
        public static partial void Held(ILogger logger, string ledger, long milliseconds, long size);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "Ledger {Ledger}: a group commit of {Events} events failed")]
        public static partial void CommitFailed(ILogger logger, Exception exception, string ledger, int events);
    }
}

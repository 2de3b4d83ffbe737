using System.Collections.Concurrent;

namespace Stele.Server.Indexing;

/// <summary>
/// Keeps the query indexes (all but search) within reach of ingestion. On 2 cores, sustained batch
/// ingestion can take the CPU the indexer needs; the indexes then fall minutes behind and every
/// filtered query misses what was acknowledged meanwhile. So while a ledger's indexes trail its
/// committed size by more than <see cref="MaxLag"/> events, each group commit of that ledger first
/// waits for the indexer to get there, for at most <see cref="MaxDelay"/>: ingestion slows to what
/// the machine can also index, and never stops. Waiting lets more requests join the group, so a
/// held commit writes more events at once.
/// </summary>
/// <remarks>
/// Pacing only holds a steady state. It does not apply while the indexes trail by more than
/// <see cref="GiveUpLag"/> events (a rebuilt index file, a backlog after an upgrade) or when the indexer
/// does not know where a ledger's indexes are (before it first looks, after a failure): then ingestion
/// runs at full speed, and queries report how far the indexes reach, as always.
/// </remarks>
internal sealed class IndexLagPacer(TimeProvider clock, int maxLag, TimeSpan maxDelay)
{
    /// <summary>Beyond this lag the indexes are catching up from far behind, and ingestion is not held for them.</summary>
    public const long GiveUpLag = 200_000;

    private readonly ConcurrentDictionary<long, long> _indexed = new();
    private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How many events the indexes may trail a ledger by before its commits are held back; 0 turns pacing off.</summary>
    public int MaxLag { get; } = maxLag;

    /// <summary>The longest one group commit is held back.</summary>
    public TimeSpan MaxDelay { get; } = maxDelay;

    /// <summary>Called by the indexer whenever a ledger's indexed size is known or moves.</summary>
    public void Indexed(long ledgerId, long indexedSize)
    {
        _indexed[ledgerId] = indexedSize;
        Signal();
    }

    /// <summary>Called by the indexer when it no longer knows where a ledger's indexes are (after a failure).</summary>
    public void Forget(long ledgerId)
    {
        _indexed.TryRemove(ledgerId, out _);
        Signal();
    }

    private void Signal() =>
        Interlocked.Exchange(ref _advanced, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>
    /// Returns once the ledger's indexes trail <paramref name="committedSize"/> by at most <see cref="MaxLag"/>
    /// events, or pacing does not apply, or <see cref="MaxDelay"/> has passed. Returns how long it waited.
    /// </summary>
    public async ValueTask<TimeSpan> WaitAsync(long ledgerId, long committedSize, CancellationToken cancellationToken)
    {
        if (!MustWait(ledgerId, committedSize))
        {
            return TimeSpan.Zero;
        }

        var started = clock.GetTimestamp();
        using var delay = new CancellationTokenSource(MaxDelay, clock);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, delay.Token);
        while (true)
        {
            var advanced = Volatile.Read(ref _advanced).Task;
            if (!MustWait(ledgerId, committedSize))
            {
                break;
            }

            try
            {
                await advanced.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        return clock.GetElapsedTime(started);
    }

    private bool MustWait(long ledgerId, long committedSize)
    {
        if (MaxLag <= 0 || !_indexed.TryGetValue(ledgerId, out var indexed))
        {
            return false;
        }

        var lag = committedSize - indexed;
        return lag > MaxLag && lag <= GiveUpLag;
    }
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stele.Core.Checkpoints;
using Stele.Server.Configuration;
using Stele.Server.Ingestion;
using Stele.Storage;

namespace Stele.Server.Integrity;

/// <summary>
/// Signs a new checkpoint for each ledger that grew, at most once per
/// <see cref="SteleOptions.CheckpointInterval"/>, so that a proof is available about a second
/// after an event is acknowledged.
/// </summary>
internal sealed partial class CheckpointService(
    SequencerRegistry sequencers,
    ISteleStore store,
    InstanceKey key,
    TimeProvider clock,
    IOptions<SteleOptions> options,
    ILogger<CheckpointService> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, (long Size, DateTimeOffset At)> _latest = new(StringComparer.Ordinal);

    public string Origin(string ledger) => $"{options.Value.InstanceName}/{ledger}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.CheckpointInterval;
        // A short tick keeps the delay between "due" and "signed" small; each tick only reads snapshots.
        var tick = TimeSpan.FromMilliseconds(Math.Min(50, interval.TotalMilliseconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(tick, clock, stoppingToken).ConfigureAwait(false);
                foreach (var sequencer in sequencers.Open.ToList())
                {
                    if (!_latest.TryGetValue(sequencer.Ledger.Name, out var latest) || clock.GetUtcNow() - latest.At >= interval)
                    {
                        await CheckpointNowAsync(sequencer, stoppingToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // The checkpointer must keep running; the failure is logged.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.CheckpointFailed(logger, ex);
                await Task.Delay(interval, clock, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Signs and stores a checkpoint of the ledger's committed state now, if it grew.</summary>
    public async Task<StoredCheckpoint?> CheckpointNowAsync(LedgerSequencer sequencer, CancellationToken cancellationToken)
    {
        var snapshot = sequencer.Snapshot;
        if (snapshot is null)
        {
            return null;
        }

        var name = sequencer.Ledger.Name;
        if (!_latest.TryGetValue(name, out var latest))
        {
            var stored = await store.GetLatestCheckpointAsync(sequencer.Ledger.Id, cancellationToken).ConfigureAwait(false);
            latest = stored is null ? (-1, DateTimeOffset.MinValue) : (stored.Size, stored.CreatedAt);
            _latest[name] = latest;
        }

        if (snapshot.Size <= latest.Size)
        {
            return null;
        }

        var root = snapshot.Range.Root();
        var checkpoint = Checkpoint.Create(Origin(name), snapshot.Size, root, snapshot.ChainHead);
        var note = key.Signer.Sign(checkpoint);
        var now = clock.GetUtcNow();
        var record = new StoredCheckpoint(snapshot.Size, root, snapshot.ChainHead, note, now);
        await store.AddCheckpointAsync(sequencer.Ledger.Id, record, cancellationToken).ConfigureAwait(false);
        _latest[name] = (snapshot.Size, now);
        Log.Signed(logger, name, snapshot.Size);
        return record;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Signed checkpoint of ledger {Ledger} at size {Size}")]
        public static partial void Signed(ILogger logger, string ledger, long size);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Checkpointing failed; retrying")]
        public static partial void CheckpointFailed(ILogger logger, Exception exception);
    }
}

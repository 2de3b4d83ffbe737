using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stele.Core.Merkle;
using Stele.Server.Configuration;
using Stele.Server.Ingestion;
using Stele.Storage;

namespace Stele.Server.Integrity;

/// <summary>
/// Checks each ledger's stored tree against its last checkpoint before anything new is signed for
/// it, and asks the ledger's sequencer for a checkpoint when the ledger grew and the last one is
/// <see cref="SteleOptions.CheckpointInterval"/> old. While a ledger is ingesting, its sequencer
/// usually gets there first and writes the checkpoint inside a group commit
/// (<see cref="CheckpointSchedule.IsDue"/>); this loop covers the events of a ledger that went quiet.
/// All signing of a ledger happens on its sequencer, so two checkpoints never race.
/// </summary>
internal sealed partial class CheckpointService(
    SequencerRegistry sequencers,
    ISteleStore store,
    ProofTiles proofTiles,
    CheckpointSchedule schedule,
    TimeProvider clock,
    IOptions<SteleOptions> options,
    ILogger<CheckpointService> logger) : BackgroundService
{
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
                    if (!schedule.TryGetLatest(sequencer.Ledger.Name, out var latest) || clock.GetUtcNow() - latest.At >= interval)
                    {
                        await CheckpointNowAsync(sequencer, stoppingToken).ConfigureAwait(false);
                    }

                    // Proofs are against checkpoints: prepare their tile summaries a bounded step at a time.
                    if (schedule.TryGetLatest(sequencer.Ledger.Name, out var signed) && signed.Size > 0)
                    {
                        proofTiles.Warm(sequencer.Ledger.Id, signed.Size, maxTiles: 64);
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

    /// <summary>
    /// Has the ledger's sequencer sign and store a checkpoint of its committed state, if it grew;
    /// first, once per ledger, checks the stored tree against the last checkpoint.
    /// </summary>
    private async Task CheckpointNowAsync(LedgerSequencer sequencer, CancellationToken cancellationToken)
    {
        var snapshot = sequencer.Snapshot;
        var name = sequencer.Ledger.Name;
        if (snapshot is null || schedule.IsRefused(name))
        {
            return;
        }

        if (!schedule.TryGetLatest(name, out var latest))
        {
            var stored = await store.GetLatestCheckpointAsync(sequencer.Ledger.Id, cancellationToken).ConfigureAwait(false);
            if (stored is not null && !await StoredTreeMatchesAsync(sequencer, stored, cancellationToken).ConfigureAwait(false))
            {
                // Never sign over a tree that disagrees with what was signed before: that would
                // lend the instance's signature to tampered data. The verifier reports the break.
                schedule.Refuse(name);
                return;
            }

            schedule.Record(name, stored?.Size ?? -1, stored?.CreatedAt ?? DateTimeOffset.MinValue);
            schedule.TryGetLatest(name, out latest);
        }

        if (snapshot.Size > latest!.Size)
        {
            await sequencer.RequestCheckpointAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// At start, before signing anything new: the tree the store holds at the last checkpoint's
    /// size must have that checkpoint's root, and the stored chain hash there its chain line.
    /// The check reads only the tree and events up to that size, so it holds while other nodes append.
    /// </summary>
    private async Task<bool> StoredTreeMatchesAsync(LedgerSequencer sequencer, StoredCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        var name = sequencer.Ledger.Name;

        // The store's size, not this node's snapshot: with several nodes, another one may have
        // appended and signed since this node loaded the ledger. A ledger longer than its last
        // checkpoint is normal (events arrive between checkpoints); a shorter one is not.
        var head = await store.GetHeadAsync(sequencer.Ledger.Id, cancellationToken).ConfigureAwait(false);
        if (head.Size < checkpoint.Size)
        {
            Log.IntegrityFailure(logger, name, checkpoint.Size, "the ledger is shorter than its last signed checkpoint");
            return false;
        }

        if (checkpoint.Size == 0)
        {
            return true;
        }

        try
        {
            var root = MerkleProofs.Root(checkpoint.Size, StoredTiles.NodeSource(store, sequencer.Ledger.Id, checkpoint.Size));
            if (!root.AsSpan().SequenceEqual(checkpoint.RootHash))
            {
                Log.IntegrityFailure(logger, name, checkpoint.Size, $"stored tree root {Convert.ToHexStringLower(root)} differs from the signed root {Convert.ToHexStringLower(checkpoint.RootHash)}");
                return false;
            }

            StoredEvent? last = null;
            await foreach (var e in store.ReadRangeAsync(sequencer.Ledger.Id, checkpoint.Size - 1, checkpoint.Size, cancellationToken).ConfigureAwait(false))
            {
                last = e;
            }

            if (checkpoint.ChainHead is not null && (last is null || !last.ChainHash.AsSpan().SequenceEqual(checkpoint.ChainHead)))
            {
                Log.IntegrityFailure(logger, name, checkpoint.Size, "the stored chain hash differs from the signed chain head");
                return false;
            }

            return true;
        }
        catch (Stele.Core.Errors.SteleFormatException ex)
        {
            Log.IntegrityFailure(logger, name, checkpoint.Size, ex.Message);
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2003, Level = LogLevel.Critical, Message = "Integrity failure in ledger {Ledger} at checkpoint size {Size}: {Problem}. No new checkpoints are signed for it; run GET /verify.")]
        public static partial void IntegrityFailure(ILogger logger, string ledger, long size, string problem);


        [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Checkpointing failed; retrying")]
        public static partial void CheckpointFailed(ILogger logger, Exception exception);
    }
}

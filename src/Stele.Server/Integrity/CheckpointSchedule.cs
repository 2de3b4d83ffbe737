using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Stele.Core.Checkpoints;
using Stele.Server.Configuration;
using Stele.Storage;

namespace Stele.Server.Integrity;

/// <summary>
/// Signs checkpoints, and remembers per ledger the newest one this node stored or found. The
/// ledger's sequencer is the one writer: it writes a checkpoint inside a group commit when one is
/// due (<see cref="IsDue"/>), or when <see cref="CheckpointService"/> asks for one for a ledger
/// that stopped growing. The service also checks each ledger's stored tree before anything is
/// signed for it (until then <see cref="TryGetLatest"/> is false).
/// </summary>
internal sealed class CheckpointSchedule(InstanceKey key, TimeProvider clock, IOptions<SteleOptions> options)
{
    private readonly ConcurrentDictionary<string, Signed> _latest = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _refused = new(StringComparer.Ordinal);

    public TimeSpan Interval => options.Value.CheckpointInterval;

    public string Origin(string ledger) => $"{options.Value.InstanceName}/{ledger}";

    /// <summary>
    /// The newest checkpoint known for the ledger. False until <see cref="CheckpointService"/> has
    /// checked the ledger's stored tree against its last checkpoint: nothing is signed before that.
    /// </summary>
    public bool TryGetLatest(string ledger, out Signed latest) => _latest.TryGetValue(ledger, out latest!);

    /// <summary>Notes a checkpoint stored (by this node or another); a smaller size than the one known is ignored.</summary>
    public void Record(string ledger, long size, DateTimeOffset at) =>
        _latest.AddOrUpdate(ledger, new Signed(size, at), (_, known) => size > known.Size ? new Signed(size, at) : known);

    /// <summary>Stops signing for the ledger: its stored tree disagrees with what was signed before.</summary>
    public void Refuse(string ledger) => _refused[ledger] = true;

    public bool IsRefused(string ledger) => _refused.ContainsKey(ledger);

    /// <summary>Signs the ledger's tree at <paramref name="size"/>; storing the record is the caller's.</summary>
    public StoredCheckpoint Sign(string ledger, long size, byte[] root, byte[]? chainHead)
    {
        var note = key.Signer.Sign(Checkpoint.Create(Origin(ledger), size, root, chainHead));
        return new StoredCheckpoint(size, root, chainHead, note, clock.GetUtcNow());
    }

    /// <summary>
    /// While a ledger's commits write this many events (any of the last few, or this one), every
    /// commit carries a checkpoint. That is heavy ingestion, where one commit can take most of the
    /// interval and a stall can take all of it, so an event left to the next commit could wait too
    /// long; and the cost, one signature and one row, is noise next to a thousand events.
    /// </summary>
    public const int LargeCommit = 1000;

    /// <summary>
    /// Whether a group commit about to start should write a checkpoint of the ledger as it leaves it.
    /// Yes under heavy ingestion (<paramref name="largestRecentCommit"/> at least
    /// <see cref="LargeCommit"/> events); when the last checkpoint is an interval old (so a slowly
    /// growing ledger gets one at once); or when leaving it to the next commit would make the
    /// oldest acknowledged event not yet covered wait longer than the interval, this commit and the
    /// next taking about <paramref name="commitTime"/> each.
    /// </summary>
    public static bool IsDue(int largestRecentCommit, DateTimeOffset now, DateTimeOffset lastSigned, DateTimeOffset? oldestUncoveredAck, TimeSpan commitTime, TimeSpan interval) =>
        largestRecentCommit >= LargeCommit
        || now - lastSigned >= interval
        || (oldestUncoveredAck is { } acknowledged && now + (2 * commitTime) - acknowledged >= interval);

    /// <summary>The newest checkpoint's size and when it was signed.</summary>
    internal sealed record Signed(long Size, DateTimeOffset At);
}

using System.Security.Cryptography;
using System.Text;
using Stele.Core.Events;
using Stele.Core.Merkle;
using Stele.Core.Tests.Events;
using Stele.Core.Verification;

namespace Stele.Core.Tests.Verification;

/// <summary>
/// A ledger built the way the server writes one: v1 encoder, RFC 6962 compact range, hash chain,
/// and a signed-checkpoint claim at each requested size. Tests copy and tamper with it.
/// </summary>
internal sealed class GenuineLedger
{
    public const string Name = "acme";

    private GenuineLedger(List<EncodedEvent> events, List<byte[]> chain, List<CheckpointClaim> checkpoints, List<CompactRange> ranges)
    {
        Events = events;
        Chain = chain;
        Checkpoints = checkpoints;
        Ranges = ranges;
    }

    public List<EncodedEvent> Events { get; }

    public List<byte[]> Chain { get; }

    public List<CheckpointClaim> Checkpoints { get; }

    /// <summary>Ranges[k] is the compact range of [0, k).</summary>
    public List<CompactRange> Ranges { get; }

    public static GenuineLedger Build(int count, params int[] checkpointSizes)
    {
        var events = new List<EncodedEvent>();
        var chain = new List<byte[]>();
        var ranges = new List<CompactRange> { new() };
        var range = new CompactRange();
        var previous = ChainHash.Genesis(Name);
        var start = new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < count; i++)
        {
            var e = Encode(i, start.AddMilliseconds(i * 1.5));
            events.Add(e);
            previous = ChainHash.Next(previous, e.LeafHash);
            chain.Add(previous);
            range.Append(e.LeafHash);
            ranges.Add(range.Clone());
        }

        var checkpoints = checkpointSizes
            .Select(size => new CheckpointClaim(size, ranges[size].Root(), chain[size - 1], true, $"checkpoint@{size}"))
            .ToList();
        return new GenuineLedger(events, chain, checkpoints, ranges);
    }

    public static EncodedEvent Encode(int i, DateTimeOffset at, string actor = "usr_")
    {
        var record = new EventRecord
        {
            ActorId = actor + (i % 17),
            ActorName = i % 5 == 0 ? null : $"Person {i} é",
            Action = i % 3 == 0 ? "document.deleted" : "document.viewed",
            Resource = "document",
            ResourceId = $"doc_{i}",
            Targets = i % 4 == 0 ? [new EventTarget { Type = "user", Id = $"u{i}", Name = "Target" }] : [],
            Metadata = i % 2 == 0 ? EventSamples.Json($$"""{"i":{{i}},"tags":["a","b"]}""") : null,
            OccurredAt = at,
            IpAddress = "192.0.2.1",
            Outcome = i % 11 == 0 ? EventOutcome.Failure : EventOutcome.Success,
        };
        var salt = SHA256.HashData(Encoding.ASCII.GetBytes($"salt-{i}"));
        var id = EventId.Format(((UInt128)(ulong)at.ToUnixTimeMilliseconds() << 80) | (UInt128)(ulong)i);
        return EventEncoderV1.Encode(record, Name, i, id, at.AddTicks(7), salt);
    }

    /// <summary>Rows as a database holds them: bytes, payload, stored leaf hash and stored chain hash.</summary>
    public List<LedgerEntry> DatabaseRows() =>
        Events.Select((e, i) => new LedgerEntry(i, e.Leaf.ToArray(), e.Payload.ToArray(), e.LeafHash.ToArray(), Chain[i].ToArray())).ToList();

    /// <summary>Rows as /tlog tiles give them: leaf bytes and tile hashes, no chain hashes, no payloads.</summary>
    public List<LedgerEntry> TileRows() =>
        Events.Select((e, i) => new LedgerEntry(i, e.Leaf.ToArray(), null, e.LeafHash.ToArray(), null)).ToList();

    public static VerificationReport Verify(
        IEnumerable<LedgerEntry> rows, IEnumerable<CheckpointClaim> checkpoints, long? expectedSize, LedgerVerifier? verifier = null)
    {
        verifier ??= new LedgerVerifier(Name);
        foreach (var claim in checkpoints)
        {
            verifier.AddCheckpoint(claim);
        }

        foreach (var row in rows)
        {
            verifier.Add(row);
        }

        return verifier.Finish(expectedSize);
    }
}

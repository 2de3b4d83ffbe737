using System.Security.Cryptography;
using Stele.Core.Merkle;

namespace Stele.Core.Events;

/// <summary>
/// Turns an <see cref="EventRecord"/> plus the server-assigned fields into the exact v1 bytes
/// (DESIGN.md, "Integrity, version 1"): the erasable payload first, then the leaf that carries the
/// payload's SHA-256. Pure and deterministic: the same inputs always give the same bytes.
/// </summary>
public static class EventEncoderV1
{
    /// <summary>Encodes one event.</summary>
    /// <param name="e">The event.</param>
    /// <param name="ledger">The ledger name.</param>
    /// <param name="seq">The event's 0-based position in the ledger.</param>
    /// <param name="eventId">The event id (<see cref="EventId.New(DateTimeOffset)"/>).</param>
    /// <param name="receivedAt">The server's receive time; truncated to microseconds, written in UTC.</param>
    /// <param name="salt">32 random bytes for the payload.</param>
    /// <exception cref="ArgumentException">The event cannot be encoded: a required field is missing,
    /// metadata is not an object, or a string holds a lone surrogate.</exception>
    public static EncodedEvent Encode(
        EventRecord e, string ledger, long seq, string eventId, DateTimeOffset receivedAt, ReadOnlySpan<byte> salt)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentException.ThrowIfNullOrEmpty(ledger);
        ArgumentException.ThrowIfNullOrEmpty(eventId);
        ArgumentOutOfRangeException.ThrowIfNegative(seq);
        if (salt.Length != EventPayloadV1.SaltSize)
        {
            throw new ArgumentException($"The salt must be {EventPayloadV1.SaltSize} bytes, got {salt.Length}.", nameof(salt));
        }

        if (string.IsNullOrEmpty(e.ActorId))
        {
            throw new ArgumentException("An event needs an actor_id.", nameof(e));
        }

        if (string.IsNullOrEmpty(e.Action))
        {
            throw new ArgumentException("An event needs an action.", nameof(e));
        }

        var targets = e.Targets ?? [];
        var leafTargets = new LeafTarget[targets.Count];
        var payloadTargets = new PayloadTarget[targets.Count];
        var anyErasableTargetPart = false;
        for (var i = 0; i < targets.Count; i++)
        {
            var target = targets[i] ?? throw new ArgumentException($"Target {i} is null.", nameof(e));
            if (string.IsNullOrEmpty(target.Type))
            {
                throw new ArgumentException($"Target {i} needs a type.", nameof(e));
            }

            leafTargets[i] = new LeafTarget(target.Type, target.Id);
            payloadTargets[i] = new PayloadTarget(target.Name, target.Metadata);
            anyErasableTargetPart |= target.Name is not null || target.Metadata is not null;
        }

        var payload = EventPayloadV1.Write(new DecodedPayload
        {
            Salt = salt.ToArray(),
            ActorName = e.ActorName,
            ResourceName = e.ResourceName,
            IpAddress = e.IpAddress,
            IpCity = e.IpCity,
            UserAgent = e.UserAgent,
            Metadata = e.Metadata,
            Targets = anyErasableTargetPart ? payloadTargets : null,
        });
        var digest = Stele.Core.Hashing.Sha256Digest.Hash(payload);

        var leaf = EventLeafV1.Write(new DecodedLeaf
        {
            Ledger = ledger,
            Seq = seq,
            Id = eventId,
            ReceivedAt = receivedAt,
            OccurredAt = e.OccurredAt,
            ActorId = e.ActorId,
            ActorType = e.ActorType,
            Action = e.Action,
            ActionCategory = e.ActionCategory,
            Resource = e.Resource,
            ResourceId = e.ResourceId,
            Targets = leafTargets,
            TenantId = e.TenantId,
            SessionId = e.SessionId,
            IpCountry = e.IpCountry,
            Outcome = e.Outcome,
            Version = e.Version,
            PayloadDigest = digest,
        });

        return new EncodedEvent(leaf, payload, digest, MerkleHash.Leaf(leaf));
    }
}

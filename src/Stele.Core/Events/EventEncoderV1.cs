using Stele.Core.Hashing;
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
        EventRecord e, string ledger, long seq, string eventId, DateTimeOffset receivedAt, ReadOnlySpan<byte> salt) =>
        Encode(e, ledger, seq, eventId, receivedAt, EncodePayload(e, salt));

    /// <summary>
    /// Encodes the payload of <paramref name="e"/> with <paramref name="salt"/>: it depends on neither the
    /// ledger nor the seq, so it can be made before the event is sequenced.
    /// </summary>
    /// <exception cref="ArgumentException">The event cannot be encoded (see <see cref="Encode(EventRecord, string, long, string, DateTimeOffset, ReadOnlySpan{byte})"/>).</exception>
    public static EncodedPayload EncodePayload(EventRecord e, ReadOnlySpan<byte> salt)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (salt.Length != EventPayloadV1.SaltSize)
        {
            throw new ArgumentException($"The salt must be {EventPayloadV1.SaltSize} bytes, got {salt.Length}.", nameof(salt));
        }

        var targets = CheckedTargets(e);
        var payloadTargets = new PayloadTarget[targets.Count];
        var anyErasableTargetPart = false;
        for (var i = 0; i < targets.Count; i++)
        {
            payloadTargets[i] = new PayloadTarget(targets[i].Name, targets[i].Metadata);
            anyErasableTargetPart |= targets[i].Name is not null || targets[i].Metadata is not null;
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
        return new EncodedPayload(payload, Sha256Hash.Hash(payload));
    }

    /// <summary>Encodes one event whose payload <paramref name="payload"/> was encoded already (from the same record).</summary>
    public static EncodedEvent Encode(EventRecord e, string ledger, long seq, string eventId, DateTimeOffset receivedAt, EncodedPayload payload)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentException.ThrowIfNullOrEmpty(ledger);
        ArgumentException.ThrowIfNullOrEmpty(eventId);
        ArgumentOutOfRangeException.ThrowIfNegative(seq);
        if (string.IsNullOrEmpty(e.ActorId))
        {
            throw new ArgumentException("An event needs an actor_id.", nameof(e));
        }

        if (string.IsNullOrEmpty(e.Action))
        {
            throw new ArgumentException("An event needs an action.", nameof(e));
        }

        var targets = CheckedTargets(e);
        var leafTargets = new LeafTarget[targets.Count];
        for (var i = 0; i < targets.Count; i++)
        {
            leafTargets[i] = new LeafTarget(targets[i].Type, targets[i].Id);
        }

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
            PayloadDigest = payload.Digest,
        });

        return new EncodedEvent(leaf, payload.Bytes, payload.Digest, MerkleHash.Leaf(leaf));
    }

    private static IReadOnlyList<EventTarget> CheckedTargets(EventRecord e)
    {
        var targets = e.Targets ?? [];
        for (var i = 0; i < targets.Count; i++)
        {
            var target = targets[i] ?? throw new ArgumentException($"Target {i} is null.", nameof(e));
            if (string.IsNullOrEmpty(target.Type))
            {
                throw new ArgumentException($"Target {i} needs a type.", nameof(e));
            }
        }

        return targets;
    }
}

namespace Stele.Core.Events;

/// <summary>
/// Every member of a v1 leaf (DESIGN.md, "Integrity, version 1"). Produced by
/// <see cref="EventLeafV1.Parse(ReadOnlySpan{byte})"/>; <see cref="ToRecord(DecodedPayload?)"/>
/// rebuilds the event with or without its (possibly erased) payload.
/// </summary>
public sealed class DecodedLeaf
{
    /// <summary>The leaf format version, <c>v</c>; always 1 here.</summary>
    public int FormatVersion { get; init; } = 1;

    public required string Ledger { get; init; }

    public required long Seq { get; init; }

    /// <summary>The event id, <c>evt_</c> + ULID.</summary>
    public required string Id { get; init; }

    /// <summary>Server receive time, UTC, microsecond precision.</summary>
    public required DateTimeOffset ReceivedAt { get; init; }

    public required DateTimeOffset OccurredAt { get; init; }

    public required string ActorId { get; init; }

    public string? ActorType { get; init; }

    public required string Action { get; init; }

    public string? ActionCategory { get; init; }

    public string? Resource { get; init; }

    public string? ResourceId { get; init; }

    /// <summary>Target types and ids; empty when the leaf has no <c>targets</c>.</summary>
    public IReadOnlyList<LeafTarget> Targets { get; init; } = [];

    public string? TenantId { get; init; }

    public string? SessionId { get; init; }

    public string? IpCountry { get; init; }

    public EventOutcome Outcome { get; init; } = EventOutcome.Success;

    /// <summary>The application's event schema version (<c>version</c>), not the format version.</summary>
    public int? Version { get; init; }

    /// <summary>SHA-256 of the payload bytes, 32 bytes.</summary>
    public required byte[] PayloadDigest { get; init; }

    /// <summary>
    /// Rebuilds the event. With a null <paramref name="payload"/> (erased or expired) the erasable
    /// fields are null and the targets keep only type and id. This does not check that the payload
    /// matches <see cref="PayloadDigest"/>; the verifier does that.
    /// </summary>
    /// <exception cref="EventFormatException">The payload's targets do not line up with the leaf's.</exception>
    public EventRecord ToRecord(DecodedPayload? payload)
    {
        var payloadTargets = payload?.Targets;
        if (payloadTargets is not null && payloadTargets.Count != Targets.Count)
        {
            throw new EventFormatException(
                EventFormatException.TargetsMismatch,
                $"The payload has {payloadTargets.Count} targets, the leaf of event {Id} has {Targets.Count}.");
        }

        var targets = new EventTarget[Targets.Count];
        for (var i = 0; i < targets.Length; i++)
        {
            targets[i] = new EventTarget
            {
                Type = Targets[i].Type,
                Id = Targets[i].Id,
                Name = payloadTargets?[i].Name,
                Metadata = payloadTargets?[i].Metadata,
            };
        }

        return new EventRecord
        {
            ActorId = ActorId,
            ActorName = payload?.ActorName,
            ActorType = ActorType,
            Action = Action,
            ActionCategory = ActionCategory,
            Resource = Resource,
            ResourceId = ResourceId,
            ResourceName = payload?.ResourceName,
            Targets = targets,
            Metadata = payload?.Metadata,
            OccurredAt = OccurredAt,
            TenantId = TenantId,
            SessionId = SessionId,
            IpAddress = payload?.IpAddress,
            IpCountry = IpCountry,
            IpCity = payload?.IpCity,
            UserAgent = payload?.UserAgent,
            Outcome = Outcome,
            Version = Version,
        };
    }
}

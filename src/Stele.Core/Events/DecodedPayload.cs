using System.Text.Json;

namespace Stele.Core.Events;

/// <summary>The members of a v1 payload (DESIGN.md, "Integrity, version 1").</summary>
public sealed class DecodedPayload
{
    /// <summary>The 32 random salt bytes that keep erased payload digests unguessable.</summary>
    public required byte[] Salt { get; init; }

    public string? ActorName { get; init; }

    public string? ResourceName { get; init; }

    public string? IpAddress { get; init; }

    public string? IpCity { get; init; }

    public string? UserAgent { get; init; }

    /// <summary>The metadata object, or null when absent.</summary>
    public JsonElement? Metadata { get; init; }

    /// <summary>Target names and metadata, or null when no target has either.</summary>
    public IReadOnlyList<PayloadTarget>? Targets { get; init; }
}

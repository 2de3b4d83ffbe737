using System.Text.Json;

namespace Stele.Core.Events;

/// <summary>
/// One audit event as the application described it (DESIGN.md, "Event fields"), without the
/// server-added <c>id</c>, <c>seq</c> and <c>received_at</c>, which the encoder takes separately.
/// Validating user input (lengths, patterns) is the server's job; <see cref="EventEncoderV1"/>
/// only refuses what it cannot encode.
/// </summary>
public sealed record EventRecord
{
    /// <summary>A stable pseudonymous actor id. Required.</summary>
    public required string ActorId { get; init; }

    /// <summary>The actor's display name; erasable (payload).</summary>
    public string? ActorName { get; init; }

    /// <summary>For example <c>user</c>, <c>service</c>, <c>api_key</c>, <c>system</c>.</summary>
    public string? ActorType { get; init; }

    /// <summary>The action, by convention <c>resource.verb</c>. Required.</summary>
    public required string Action { get; init; }

    /// <summary>A coarse grouping of actions.</summary>
    public string? ActionCategory { get; init; }

    /// <summary>The resource type.</summary>
    public string? Resource { get; init; }

    /// <summary>The resource id.</summary>
    public string? ResourceId { get; init; }

    /// <summary>The resource's display name; erasable (payload).</summary>
    public string? ResourceName { get; init; }

    /// <summary>Secondary resources, in the order given. Empty when there are none.</summary>
    public IReadOnlyList<EventTarget> Targets { get; init; } = [];

    /// <summary>Free-form JSON object (before/after diffs go here as <c>changes</c>); erasable.</summary>
    public JsonElement? Metadata { get; init; }

    /// <summary>When the action happened; stored in UTC truncated to microseconds.</summary>
    public DateTimeOffset OccurredAt { get; init; }

    /// <summary>The customer of our user this event belongs to.</summary>
    public string? TenantId { get; init; }

    /// <summary>The end user's session.</summary>
    public string? SessionId { get; init; }

    /// <summary>The end user's IP address; erasable (payload).</summary>
    public string? IpAddress { get; init; }

    /// <summary>GeoIP country of <see cref="IpAddress"/>.</summary>
    public string? IpCountry { get; init; }

    /// <summary>GeoIP city of <see cref="IpAddress"/>; erasable (payload).</summary>
    public string? IpCity { get; init; }

    /// <summary>The end user's user agent; erasable (payload).</summary>
    public string? UserAgent { get; init; }

    /// <summary>Whether the action succeeded.</summary>
    public EventOutcome Outcome { get; init; } = EventOutcome.Success;

    /// <summary>The application's event schema version.</summary>
    public int? Version { get; init; }
}

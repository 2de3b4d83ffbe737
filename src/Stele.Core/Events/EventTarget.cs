using System.Text.Json;

namespace Stele.Core.Events;

/// <summary>
/// A secondary resource an event acted on (DESIGN.md, "Event fields": <c>targets</c>).
/// <see cref="Type"/> and <see cref="Id"/> go into the leaf; <see cref="Name"/> and
/// <see cref="Metadata"/> are personal or free-form and go into the erasable payload.
/// </summary>
public sealed record EventTarget
{
    /// <summary>The target's resource type, for example <c>user</c>. Required.</summary>
    public required string Type { get; init; }

    /// <summary>The target's id, if any.</summary>
    public string? Id { get; init; }

    /// <summary>A display name; erasable.</summary>
    public string? Name { get; init; }

    /// <summary>Free-form JSON; must be an object when present; erasable.</summary>
    public JsonElement? Metadata { get; init; }
}

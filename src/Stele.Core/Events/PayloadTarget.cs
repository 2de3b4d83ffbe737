using System.Text.Json;

namespace Stele.Core.Events;

/// <summary>
/// The erasable part of a target, aligned index-for-index with <see cref="DecodedLeaf.Targets"/>.
/// Both members may be absent (the payload then holds <c>{}</c> for this target).
/// </summary>
public sealed record PayloadTarget(string? Name, JsonElement? Metadata);

namespace Stele.Core.Events;

/// <summary>A target as the leaf commits to it: its type and optional id.</summary>
public sealed record LeafTarget(string Type, string? Id);

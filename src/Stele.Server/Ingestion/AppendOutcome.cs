using Stele.Storage;

namespace Stele.Server.Ingestion;

/// <summary>The committed event for one submitted event; <see cref="Duplicate"/> when its idempotency key was seen before.</summary>
internal sealed record AppendOutcome(StoredEvent Event, bool Duplicate);

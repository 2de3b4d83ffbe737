using Stele.Core.Events;
using Stele.Storage;

namespace Stele.Server.Ingestion;

/// <summary>
/// The committed event for one submitted event; <see cref="Duplicate"/> when its idempotency key was
/// seen before. A new event also carries the record it was encoded from (<see cref="Fresh"/>), so the
/// answer is written without decoding the bytes that were just produced from it.
/// </summary>
internal sealed record AppendOutcome(StoredEvent Event, bool Duplicate, EncodedView? Fresh = null);

/// <summary>What the leaf and payload of a just-encoded event say, taken from the record and values they were encoded from.</summary>
internal sealed record EncodedView(EventRecord Record, DateTimeOffset ReceivedAt, byte[] PayloadDigest);

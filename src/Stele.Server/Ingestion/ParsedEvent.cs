using Stele.Core.Events;

namespace Stele.Server.Ingestion;

/// <summary>A validated ingest request for one event, ready for the sequencer.</summary>
internal sealed record ParsedEvent(EventRecord Record, string? IdempotencyKey, string SearchText);

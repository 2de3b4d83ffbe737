namespace Stele.Server.Ingestion;

/// <summary>Where an ingest request came from, used when the event does not say.</summary>
internal sealed record RequestOrigin(string? IpAddress, string? UserAgent);

using System.Net;

namespace Stele.Server.Ingestion;

/// <summary>
/// Where an ingest request came from: the client's address (the connection's, or the one trusted
/// proxies forwarded) and its user agent, used when the event does not say. Only a key with the
/// <c>client_origin</c> permission (<paramref name="MayPassClientOrigin"/>) may pass the end
/// user's <c>ip_address</c> and <c>user_agent</c> in the body instead.
/// </summary>
internal sealed record RequestOrigin(IPAddress? Address, string? UserAgent, bool MayPassClientOrigin);

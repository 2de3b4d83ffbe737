namespace Stele.Server.Enrichment;

/// <summary>
/// What GeoIP says about an address: the ISO 3166-1 alpha-2 country (<c>ip_country</c>) and the
/// English city name (<c>ip_city</c>); either may be null. <c>default</c> knows nothing.
/// </summary>
internal readonly record struct GeoLocation(string? Country, string? City);

namespace Stele.Server.Configuration;

/// <summary>GeoIP enrichment (<c>ip_country</c>, <c>ip_city</c>): the <c>GeoIp</c> section.</summary>
public sealed class GeoIpOptions
{
    /// <summary>
    /// A MaxMind DB file (<c>.mmdb</c>): a GeoIP2 or GeoLite2 City database gives country and
    /// city, a Country database the country only. Unset: enrichment is off and the fields stay
    /// null. Set to a missing or broken file: the server does not start.
    /// Environment: <c>STELE_GEOIP__DATABASEPATH</c>.
    /// </summary>
    public string? DatabasePath { get; set; }
}

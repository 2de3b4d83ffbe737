using System.Net;
using Microsoft.Extensions.Logging;

namespace Stele.Server.Enrichment;

/// <summary>
/// Fills <c>ip_country</c> and <c>ip_city</c> at ingest from the configured MaxMind DB:
/// <c>country.iso_code</c> (or, for an address with no country, <c>registered_country.iso_code</c>)
/// and <c>city.names.en</c>. Reserved addresses (private, loopback, link-local, CGNAT, multicast,
/// documentation, …) are never looked up. Without a database every answer is empty.
/// A broken record never fails an ingest: the fields stay null and the first failure is logged
/// (with the file offset, never the address).
/// </summary>
internal sealed partial class GeoIpEnricher
{
    private static readonly MaxMindPath CountryIsoCode = new("country", "iso_code");
    private static readonly MaxMindPath RegisteredCountryIsoCode = new("registered_country", "iso_code");
    private static readonly MaxMindPath CityNameEn = new("city", "names", "en");

    private readonly MaxMindDatabase? _database;
    private readonly ILogger _logger;
    private int _failureLogged;

    public GeoIpEnricher(MaxMindDatabase? database, ILogger<GeoIpEnricher> logger)
    {
        _database = database;
        _logger = logger;
    }

    public bool Enabled => _database is not null;

    /// <summary>Says once, at start, whether enrichment is on and from what kind of database.</summary>
    public void LogStatus()
    {
        if (_database is null)
        {
            Log.Disabled(_logger);
            return;
        }

        var m = _database.Metadata;
        Log.Enabled(_logger, m.DatabaseType, m.BuildTime?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) ?? "an unknown date", m.IpVersion, m.NodeCount);
    }

    public GeoLocation Locate(IPAddress? address)
    {
        if (_database is null || address is null)
        {
            return default;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (ReservedAddresses.Contains(address))
        {
            return default;
        }

        try
        {
            var lookup = _database.Find(address);
            if (!lookup.Found)
            {
                return default;
            }

            var country = CountryCode(_database.FindString(lookup, CountryIsoCode))
                ?? CountryCode(_database.FindString(lookup, RegisteredCountryIsoCode));
            var city = CityName(_database.FindString(lookup, CityNameEn));
            return new GeoLocation(country, city);
        }
        catch (MaxMindFormatException ex)
        {
            if (Interlocked.Exchange(ref _failureLogged, 1) == 0)
            {
                Log.LookupFailed(_logger, ex.Code, ex.Offset);
            }

            return default;
        }
    }

    /// <summary>An ISO 3166-1 alpha-2 code is two ASCII letters; anything else is not trusted into the leaf.</summary>
    private static string? CountryCode(string? value) =>
        value is { Length: 2 } && char.IsAsciiLetter(value[0]) && char.IsAsciiLetter(value[1]) ? value.ToUpperInvariant() : null;

    private static string? CityName(string? value)
    {
        if (value is not { Length: > 0 and <= 1024 })
        {
            return null;
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return null;
            }
        }

        return value;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "GeoIP enrichment is off: no GeoIp:DatabasePath (STELE_GEOIP__DATABASEPATH) is set, so ip_country and ip_city stay null")]
        public static partial void Disabled(ILogger logger);

        [LoggerMessage(EventId = 5102, Level = LogLevel.Information, Message = "GeoIP enrichment is on: {DatabaseType} database built {BuildDate}, IPv{IpVersion} tree of {NodeCount} nodes")]
        public static partial void Enabled(ILogger logger, string databaseType, string buildDate, int ipVersion, uint nodeCount);

        [LoggerMessage(EventId = 5103, Level = LogLevel.Warning, Message = "A GeoIP lookup hit a broken part of the database ({Code} at byte {Offset}); the event is stored without ip_country and ip_city. Further failures are not logged")]
        public static partial void LookupFailed(ILogger logger, string code, long offset);
    }
}

using System.Net;
using Stele.Server.Enrichment;
using static Stele.Server.Tests.Enrichment.MmdbBytes;

namespace Stele.Server.Tests.Enrichment;

/// <summary>
/// What enrichment puts in <c>ip_country</c> and <c>ip_city</c>: from City and Country databases,
/// the registered country when there is no country, and nothing for reserved addresses, which are
/// never looked up (shown with a database in which every address has a record).
/// </summary>
public sealed class GeoIpEnricherTests
{
    private static GeoIpEnricher Enricher(MaxMindDatabase? database, CollectingLogger<GeoIpEnricher>? logger = null) =>
        new(database, logger ?? new CollectingLogger<GeoIpEnricher>());

    /// <summary>A database in which every address, reserved or not, finds this record.</summary>
    private static MaxMindDatabase Everywhere(byte[] record) => MaxMindDatabase.FromBytes(EveryAddressFinds(record));

    private static readonly byte[] ZzNowhere = MapOf(
        ("city", MapOf(("names", MapOf(("de", String("Nirgendwo")), ("en", String("Nowhere")))))),
        ("country", MapOf(("iso_code", String("ZZ")))));

    [Theory]
    [InlineData("81.2.69.142", "GB", "London")]
    [InlineData("81.2.69.160", "GB", "London")]
    [InlineData("89.160.20.112", "SE", "Linköping")]
    [InlineData("216.160.83.56", "US", "Milton")]
    [InlineData("::ffff:81.2.69.142", "GB", "London")]
    [InlineData("2001:218::1", "JP", null)]
    [InlineData("2a02:d180::1", "DE", null)]
    [InlineData("1.1.1.1", null, null)]
    public void A_city_database_gives_the_country_and_the_english_city_name(string ip, string? country, string? city)
    {
        var location = Enricher(MaxMindTestData.Open("GeoIP2-City-Test")).Locate(IPAddress.Parse(ip));
        Assert.Equal(new GeoLocation(country, city), location);
    }

    [Theory]
    [InlineData("81.2.69.160", "GB")]
    [InlineData("74.209.24.0", "US")]
    [InlineData("2001:218::1", "JP")]
    public void A_country_database_gives_the_country_and_no_city(string ip, string country)
    {
        var location = Enricher(MaxMindTestData.Open("GeoIP2-Country-Test")).Locate(IPAddress.Parse(ip));
        Assert.Equal(new GeoLocation(country, null), location);
    }

    [Fact]
    public void An_address_without_a_country_gets_its_registered_country()
    {
        var enricher = Enricher(Everywhere(MapOf(("registered_country", MapOf(("iso_code", String("FR")))))));
        Assert.Equal(new GeoLocation("FR", null), enricher.Locate(IPAddress.Parse("8.8.8.8")));
    }

    [Fact]
    public void A_public_address_is_looked_up()
    {
        var enricher = Enricher(Everywhere(ZzNowhere));
        Assert.Equal(new GeoLocation("ZZ", "Nowhere"), enricher.Locate(IPAddress.Parse("8.8.8.8")));
        Assert.Equal(new GeoLocation("ZZ", "Nowhere"), enricher.Locate(IPAddress.Parse("2a00:1450::1")));
    }

    public static TheoryData<string> ReservedAddresses => new()
    {
        "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.255", "127.0.0.1", "127.255.0.9",
        "169.254.10.20", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.33", "192.88.99.1", "192.168.1.1",
        "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.7", "224.0.0.251", "239.255.255.250", "240.0.0.1",
        "255.255.255.255", "::", "::1", "::10.0.0.1", "::8.8.8.8", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:192.168.0.1",
        "64:ff9b:1::1", "100::1", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:db8::1", "2001:db8:ffff::1",
        "3fff::1", "5f00::1", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "fec0::1", "ff02::1", "ff0e::1",
    };

    [Theory]
    [MemberData(nameof(ReservedAddresses))]
    public void A_reserved_address_gets_no_location_even_where_the_database_has_one(string ip)
    {
        var address = IPAddress.Parse(ip);
        Assert.True(Stele.Server.Enrichment.ReservedAddresses.Contains(address));
        Assert.Equal(default, Enricher(Everywhere(ZzNowhere)).Locate(address));
    }

    [Theory]
    [InlineData("1.0.0.1")]
    [InlineData("9.255.255.255")]
    [InlineData("11.0.0.0")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.0")]
    [InlineData("126.255.255.255")]
    [InlineData("128.0.0.0")]
    [InlineData("169.253.255.255")]
    [InlineData("172.15.255.255")]
    [InlineData("172.32.0.0")]
    [InlineData("192.0.1.1")]
    [InlineData("192.167.255.255")]
    [InlineData("192.169.0.0")]
    [InlineData("198.17.255.255")]
    [InlineData("198.20.0.0")]
    [InlineData("223.255.255.255")]
    [InlineData("::1:0:0:1")]
    [InlineData("64:ff9b::808:808")]
    [InlineData("2001:200::1")]
    [InlineData("2001:218::1")]
    [InlineData("2001:db7:ffff::1")]
    [InlineData("2002:808:808::1")]
    [InlineData("2a00:1450:4001::1")]
    [InlineData("fbff::1")]
    [InlineData("fe00::1")]
    [InlineData("::ffff:8.8.8.8")]
    public void A_public_address_next_to_a_reserved_range_is_not_reserved(string ip)
    {
        Assert.False(Stele.Server.Enrichment.ReservedAddresses.Contains(IPAddress.Parse(ip)));
    }

    [Theory]
    [InlineData("gb", "GB")]
    [InlineData("GBR", null)]
    [InlineData("G1", null)]
    [InlineData("", null)]
    public void Only_a_two_letter_code_becomes_a_country(string isoCode, string? expected)
    {
        var enricher = Enricher(Everywhere(MapOf(("country", MapOf(("iso_code", String(isoCode)))))));
        Assert.Equal(expected, enricher.Locate(IPAddress.Parse("8.8.8.8")).Country);
    }

    [Fact]
    public void Without_a_database_nothing_is_looked_up_and_start_up_says_enrichment_is_off()
    {
        var logger = new CollectingLogger<GeoIpEnricher>();
        var enricher = Enricher(null, logger);
        Assert.False(enricher.Enabled);
        Assert.Equal(default, enricher.Locate(IPAddress.Parse("81.2.69.142")));
        enricher.LogStatus();
        var entry = Assert.Single(logger.Entries);
        Assert.Equal(5101, entry.Id.Id);
        Assert.Contains("STELE_GEOIP__DATABASEPATH", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_record_leaves_the_fields_empty_and_is_logged_once_without_the_address()
    {
        var logger = new CollectingLogger<GeoIpEnricher>();
        var enricher = Enricher(Everywhere(MapOf(("country", MapOf(("iso_code", Raw(MmdbBytes.Utf8String, [0x47, 0xff])))))), logger);

        Assert.Equal(default, enricher.Locate(IPAddress.Parse("81.2.69.142")));
        Assert.Equal(default, enricher.Locate(IPAddress.Parse("89.160.20.112")));

        var entry = Assert.Single(logger.Entries);
        Assert.Equal(5103, entry.Id.Id);
        Assert.Contains(MaxMindFormatException.BadUtf8, entry.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("81.2.69.142", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lookups_from_many_threads_at_once_all_get_the_same_answers()
    {
        var enricher = Enricher(MaxMindTestData.Open("GeoIP2-City-Test"));
        var addresses = new[] { ("81.2.69.142", "GB", "London"), ("89.160.20.112", "SE", "Linköping"), ("2001:218::1", "JP", (string?)null) };
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                var (ip, country, city) = addresses[(i + t) % addresses.Length];
                Assert.Equal(new GeoLocation(country, city), enricher.Locate(IPAddress.Parse(ip)));
            }
        }));
        await Task.WhenAll(tasks);
    }
}

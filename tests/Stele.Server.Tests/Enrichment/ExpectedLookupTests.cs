using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Stele.Server.Enrichment;

namespace Stele.Server.Tests.Enrichment;

/// <summary>
/// The reader against the public MaxMind test databases: the collector's expected-lookups.json
/// (metadata, found/not found, matched network, full record) and every network of the source data
/// the City and Country databases were built from.
/// </summary>
public sealed class ExpectedLookupTests
{
    public static TheoryData<string, string> ExpectedLookups()
    {
        var data = new TheoryData<string, string>();
        foreach (var database in MaxMindTestData.ExpectedLookups.GetProperty("databases").EnumerateObject())
        {
            foreach (var lookup in database.Value.GetProperty("lookups").EnumerateArray())
            {
                data.Add(database.Name, lookup.GetProperty("ip").GetString()!);
            }
        }

        return data;
    }

    public static TheoryData<string> Databases() => new(MaxMindTestData.ExpectedLookups.GetProperty("databases").EnumerateObject().Select(d => d.Name));

    [Theory]
    [MemberData(nameof(ExpectedLookups))]
    public void Every_expected_lookup_finds_the_expected_network_and_record(string databaseName, string ip)
    {
        var entry = ExpectedEntry(databaseName, ip);
        var database = MaxMindTestData.Open(databaseName);
        var lookup = database.Find(IPAddress.Parse(ip));

        Assert.Equal(entry.GetProperty("found").GetBoolean(), lookup.Found);
        if (!lookup.Found)
        {
            Assert.Null(database.Decode(lookup));
            return;
        }

        Assert.Equal(entry.GetProperty("network").GetString(), Network(ip, lookup.PrefixLength));
        var record = database.Decode(lookup);
        DecodedValues.AssertEquivalent(entry.GetProperty("record"), record);
        Assert.Equal(entry.GetProperty("country_iso_code").GetString(), database.FindString(lookup, new MaxMindPath("country", "iso_code")));
        Assert.Equal(entry.GetProperty("registered_country_iso_code").GetString(), database.FindString(lookup, new MaxMindPath("registered_country", "iso_code")));
        Assert.Equal(entry.GetProperty("continent_code").GetString(), database.FindString(lookup, new MaxMindPath("continent", "code")));
        Assert.Equal(entry.GetProperty("city_name_en").GetString(), database.FindString(lookup, new MaxMindPath("city", "names", "en")));
    }

    [Theory]
    [MemberData(nameof(ExpectedLookups))]
    public void A_miss_reports_the_depth_where_the_search_ended(string databaseName, string ip)
    {
        var entry = ExpectedEntry(databaseName, ip);
        if (entry.GetProperty("found").GetBoolean())
        {
            return;
        }

        var lookup = MaxMindTestData.Open(databaseName).Find(IPAddress.Parse(ip));
        Assert.False(lookup.Found);
        Assert.Equal(entry.GetProperty("network").GetString(), Network(ip, lookup.PrefixLength));
    }

    [Theory]
    [MemberData(nameof(Databases))]
    public void The_metadata_matches_the_expected_metadata(string databaseName)
    {
        var expected = MaxMindTestData.ExpectedLookups.GetProperty("databases").GetProperty(databaseName).GetProperty("metadata");
        var metadata = MaxMindTestData.Open(databaseName).Metadata;

        Assert.Equal(expected.GetProperty("binary_format_major_version").GetInt32(), metadata.BinaryFormatMajorVersion);
        Assert.Equal(expected.GetProperty("binary_format_minor_version").GetInt32(), metadata.BinaryFormatMinorVersion);
        Assert.Equal(expected.GetProperty("build_epoch").GetUInt64(), metadata.BuildEpoch);
        Assert.Equal(expected.GetProperty("database_type").GetString(), metadata.DatabaseType);
        Assert.Equal(expected.GetProperty("ip_version").GetInt32(), metadata.IpVersion);
        Assert.Equal(expected.GetProperty("node_count").GetUInt32(), metadata.NodeCount);
        Assert.Equal(expected.GetProperty("record_size").GetInt32(), metadata.RecordSize);
        Assert.Equal(expected.GetProperty("languages").EnumerateArray().Select(l => l.GetString()!), metadata.Languages);
        Assert.Equal(
            expected.GetProperty("description").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
            metadata.Description);
    }

    [Theory]
    [InlineData("GeoIP2-City-Test")]
    [InlineData("GeoLite2-City-Test")]
    [InlineData("GeoIP2-Country-Test")]
    public void Every_network_of_the_source_data_decodes_to_its_source_record(string databaseName)
    {
        var database = MaxMindTestData.Open(databaseName);
        var networks = MaxMindTestData.SourceNetworks(databaseName);
        Assert.True(networks.Count > 200, $"only {networks.Count} networks in the source data");
        foreach (var (network, record) in networks)
        {
            var (address, prefix) = ParseNetwork(network);
            var lookup = database.Find(address);
            Assert.True(lookup.Found, $"{network} is not found");
            Assert.True(prefix == lookup.PrefixLength, $"{network}: found with prefix /{lookup.PrefixLength}");
            DecodedValues.AssertEquivalent(record, database.Decode(lookup), network);
        }
    }

    [Theory]
    [InlineData("GeoIP2-City-Test")]
    [InlineData("GeoIP2-Country-Test")]
    [InlineData("GeoIP2-Enterprise-Test")]
    [InlineData("GeoLite2-ASN-Test")]
    [InlineData("GeoIP2-ISP-Test")]
    [InlineData("MaxMind-DB-test-decoder")]
    [InlineData("MaxMind-DB-test-nested")]
    [InlineData("MaxMind-DB-test-metadata-pointers")]
    [InlineData("MaxMind-DB-no-ipv4-search-tree")]
    public void A_sound_database_passes_verification(string databaseName)
    {
        MaxMindTestData.Open(databaseName).Verify();
    }

    private static JsonElement ExpectedEntry(string databaseName, string ip) =>
        MaxMindTestData.ExpectedLookups.GetProperty("databases").GetProperty(databaseName).GetProperty("lookups")
            .EnumerateArray().Single(l => l.GetProperty("ip").GetString() == ip);

    /// <summary>The network of <paramref name="prefix"/> bits around <paramref name="ip"/>, written as readers write it.</summary>
    internal static string Network(string ip, int prefix)
    {
        var bytes = IPAddress.Parse(ip).GetAddressBytes();
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return $"{new IPAddress(bytes)}/{prefix}";
    }

    private static (IPAddress Address, int Prefix) ParseNetwork(string network)
    {
        var slash = network.IndexOf('/', StringComparison.Ordinal);
        var address = IPAddress.Parse(network[..slash]);
        var prefix = int.Parse(network[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6);
        return (address, prefix);
    }
}

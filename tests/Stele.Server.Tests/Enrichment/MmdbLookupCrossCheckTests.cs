using System.Net;
using Stele.Server.Enrichment;

namespace Stele.Server.Tests.Enrichment;

/// <summary>
/// The same addresses looked up by this reader and by libmaxminddb's <c>mmdblookup</c> give the
/// same country, registered country and English city name: the expected-lookups addresses and a
/// sample of the networks each database was built from, IPv4 and IPv6.
/// </summary>
public sealed class MmdbLookupCrossCheckTests
{
    public static TheoryData<string> Databases => new() { "GeoIP2-City-Test", "GeoLite2-City-Test", "GeoIP2-Country-Test" };

    [MmdbLookupTheory]
    [MemberData(nameof(Databases))]
    public async Task The_reader_and_mmdblookup_agree_on_country_and_city(string databaseName)
    {
        var path = MaxMindTestData.TestDatabasePath(databaseName);
        var database = MaxMindDatabase.Open(path);
        var addresses = Addresses(databaseName);
        Assert.True(addresses.Count >= 40, $"only {addresses.Count} addresses");
        var found = 0;
        foreach (var ip in addresses)
        {
            var lookup = database.Find(IPAddress.Parse(ip));
            found += lookup.Found ? 1 : 0;
            foreach (var keys in new[] { new[] { "country", "iso_code" }, ["registered_country", "iso_code"], ["city", "names", "en"] })
            {
                var expected = await MmdbLookup.LookupStringAsync(path, ip, keys);
                var actual = database.FindString(lookup, new MaxMindPath(keys));
                Assert.True(expected == actual, $"{databaseName} {ip} {string.Join('.', keys)}: mmdblookup '{expected}', this reader '{actual}'");
            }
        }

        Assert.True(found > addresses.Count / 2, $"only {found} of {addresses.Count} addresses were found");
    }

    /// <summary>The expected-lookups addresses, then the first address of every third source network.</summary>
    private static List<string> Addresses(string databaseName)
    {
        var addresses = MaxMindTestData.ExpectedLookups.GetProperty("databases").GetProperty(databaseName).GetProperty("lookups")
            .EnumerateArray().Select(l => l.GetProperty("ip").GetString()!).ToList();
        addresses.AddRange(MaxMindTestData.SourceNetworks(databaseName).Where((_, i) => i % 3 == 0).Select(n => n.Network[..n.Network.IndexOf('/', StringComparison.Ordinal)]));
        return addresses.Distinct(StringComparer.Ordinal).ToList();
    }
}

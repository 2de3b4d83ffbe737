using System.Net;
using Stele.Server.Enrichment;
using static Stele.Server.Tests.Enrichment.MmdbBytes;

namespace Stele.Server.Tests.Enrichment;

/// <summary>
/// The search tree and the file layout: IPv4, IPv6 and mixed trees with 24, 28 and 32-bit records
/// (upstream's MaxMind-DB-test-ipv4/ipv6/mixed-24/28/32), IPv4 lookups under ::/96, the metadata
/// marker, and the upstream databases broken on purpose.
/// </summary>
public sealed class MaxMindDatabaseTests
{
    /// <summary>Address → (the "ip" of the network found, prefix length), as mmdblookup 1.7.1 reports them for these files.</summary>
    public static TheoryData<int, string, string?, int> Ipv4Lookups => Sizes(
        ("1.1.1.1", "1.1.1.1", 32), ("1.1.1.3", "1.1.1.2", 31), ("1.1.1.7", "1.1.1.4", 30), ("1.1.1.15", "1.1.1.8", 29),
        ("1.1.1.17", "1.1.1.16", 28), ("1.1.1.32", "1.1.1.32", 32), ("1.1.1.33", null, 32), ("2.2.2.2", null, 7));

    public static TheoryData<int, string, string?, int> Ipv6Lookups => Sizes(
        ("::1:ffff:ffff", "::1:ffff:ffff", 128), ("::2:0:1", "::2:0:0", 122), ("::2:0:41", "::2:0:40", 124),
        ("::2:0:59", "::2:0:58", 127), ("::2:0:60", null, 123), ("1.1.1.1", null, 8), ("::ffff:1.1.1.1", null, 104));

    /// <summary>The mixed files hold the IPv4 networks under ::/96, aliased from ::ffff:0:0/96 and 2002::/16.</summary>
    public static TheoryData<int, string, string?, int> MixedLookups => Sizes(
        ("1.1.1.1", "::1.1.1.1", 32), ("1.1.1.3", "::1.1.1.2", 31), ("1.1.1.17", "::1.1.1.16", 28), ("1.1.1.33", null, 32),
        ("::1.1.1.1", "::1.1.1.1", 128), ("::ffff:1.1.1.1", "::1.1.1.1", 128), ("2002:101:101::", "::1.1.1.1", 48),
        ("::2:0:41", "::2:0:40", 124), ("::2:0:60", null, 123));

    [Theory]
    [MemberData(nameof(Ipv4Lookups))]
    public void An_ipv4_tree_finds_each_network_with_any_record_size(int recordSize, string address, string? expected, int prefix) =>
        AssertLookup($"MaxMind-DB-test-ipv4-{recordSize}", recordSize, 4, address, expected, prefix);

    [Theory]
    [MemberData(nameof(Ipv6Lookups))]
    public void An_ipv6_tree_finds_each_network_with_any_record_size(int recordSize, string address, string? expected, int prefix) =>
        AssertLookup($"MaxMind-DB-test-ipv6-{recordSize}", recordSize, 6, address, expected, prefix);

    [Theory]
    [MemberData(nameof(MixedLookups))]
    public void A_mixed_tree_finds_ipv4_addresses_in_the_ipv4_subtree(int recordSize, string address, string? expected, int prefix) =>
        AssertLookup($"MaxMind-DB-test-mixed-{recordSize}", recordSize, 6, address, expected, prefix);

    [Theory]
    [InlineData(24)]
    [InlineData(28)]
    [InlineData(32)]
    public void Each_record_size_passes_verification(int recordSize)
    {
        foreach (var kind in new[] { "ipv4", "ipv6", "mixed" })
        {
            MaxMindTestData.Open($"MaxMind-DB-test-{kind}-{recordSize}").Verify();
        }
    }

    [Fact]
    public void An_ipv6_address_is_not_found_in_an_ipv4_tree_unless_it_is_ipv4_mapped()
    {
        var database = MaxMindTestData.Open("MaxMind-DB-test-ipv4-28");
        Assert.False(database.Find(IPAddress.Parse("::1:ffff:ffff")).Found);
        Assert.False(database.Find(IPAddress.Parse("2001:db8::1")).Found);
        var mapped = database.Find(IPAddress.Parse("::ffff:1.1.1.3"));
        Assert.True(mapped.Found);
        Assert.Equal(31, mapped.PrefixLength);
    }

    [Fact]
    public void Without_an_ipv4_subtree_an_ipv4_address_finds_the_record_that_covers_it()
    {
        // MaxMind-DB-no-ipv4-search-tree: the record for ::/64 covers all of ::/96.
        var database = MaxMindTestData.Open("MaxMind-DB-no-ipv4-search-tree");
        var lookup = database.Find(IPAddress.Parse("1.1.1.1"));
        Assert.True(lookup.Found);
        Assert.Equal(0, lookup.PrefixLength);
        Assert.Equal("::/64", database.Decode(lookup));
    }

    [Theory]
    [InlineData(24, 16_777_000, 16_776_000)]
    [InlineData(28, 16_777_300, 40_000_000)]
    [InlineData(32, 16_777_300, 40_000_000)]
    public void Large_record_values_are_read_from_every_bit_of_each_record_size(int recordSize, int leftOffset, int rightOffset)
    {
        // Records past 2^24 need the 28-bit layout's shared middle byte (its high nibble for the
        // left record, its low one for the right); the upstream files are too small to reach them.
        var data = new byte[Math.Max(leftOffset, rightOffset) + 16];
        String("left").CopyTo(data, leftOffset);
        String("right").CopyTo(data, rightOffset);
        var database = MaxMindDatabase.FromBytes(File([(DataRecord(1, leftOffset), DataRecord(1, rightOffset))], recordSize, 6, data));

        Assert.Equal("left", database.Decode(database.Find(IPAddress.Parse("::1"))));
        Assert.Equal("right", database.Decode(database.Find(IPAddress.Parse("8000::1"))));
    }

    [Fact]
    public void The_last_metadata_marker_in_the_file_is_the_one_read()
    {
        // Data that happens to contain the marker must not be taken for the metadata.
        var data = Raw(MmdbBytes.Bytes, [.. MetadataMarker, .. Metadata(1, 24, 6, m => m["database_type"] = String("decoy"))]);
        var database = MaxMindDatabase.FromBytes(File([(DataRecord(1, 0), DataRecord(1, 0))], 24, 6, data));
        Assert.Equal("Stele-Test", database.Metadata.DatabaseType);
    }

    [Fact]
    public void A_marker_further_than_128_KiB_from_the_end_is_not_found()
    {
        var file = File([(DataRecord(1, 0), DataRecord(1, 0))], 24, 6, String("x"));
        var padded = file.Concat(new byte[128 * 1024]).ToArray();
        var error = Assert.Throws<MaxMindFormatException>(() => MaxMindDatabase.FromBytes(padded));
        Assert.Equal(MaxMindFormatException.NoMetadata, error.Code);
        Assert.Contains("last 131072 bytes", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BrokenMetadata => new()
    {
        { "record_size", MaxMindFormatException.BadMetadata },
        { "ip_version", MaxMindFormatException.BadMetadata },
        { "node_count", MaxMindFormatException.BadMetadata },
        { "binary_format_major_version", MaxMindFormatException.BadMetadata },
        { "database_type", MaxMindFormatException.BadMetadata },
        { "build_epoch", MaxMindFormatException.BadMetadata },
    };

    [Theory]
    [MemberData(nameof(BrokenMetadata))]
    public void Metadata_without_a_required_key_is_refused_naming_it(string key, string code)
    {
        var file = File([(DataRecord(1, 0), DataRecord(1, 0))], 24, 6, String("x"), Metadata(1, 24, 6, m => m.Remove(key)));
        var error = Assert.Throws<MaxMindFormatException>(() => MaxMindDatabase.FromBytes(file));
        Assert.Equal(code, error.Code);
        Assert.Contains($"'{key}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("record_size", 30)]
    [InlineData("record_size", 128)]
    [InlineData("ip_version", 5)]
    [InlineData("binary_format_major_version", 3)]
    [InlineData("node_count", 0)]
    public void Metadata_values_this_reader_cannot_use_are_refused(string key, int value)
    {
        var file = File([(DataRecord(1, 0), DataRecord(1, 0))], 24, 6, String("x"),
            Metadata(1, 24, 6, m => m[key] = Integer(key == "node_count" ? MmdbBytes.Uint32 : MmdbBytes.Uint16, (ulong)value)));
        var error = Assert.Throws<MaxMindFormatException>(() => MaxMindDatabase.FromBytes(file));
        Assert.Equal(MaxMindFormatException.BadMetadata, error.Code);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_count_larger_than_the_file_is_refused_before_any_lookup()
    {
        var file = File([(DataRecord(1, 0), DataRecord(1, 0))], 24, 6, String("x"), Metadata(1_000_000, 24, 6));
        var error = Assert.Throws<MaxMindFormatException>(() => MaxMindDatabase.FromBytes(file));
        Assert.Equal(MaxMindFormatException.BadSearchTree, error.Code);
        Assert.Contains("1000000 nodes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_record_pointing_into_the_separator_or_past_the_data_is_refused_when_reached()
    {
        var intoSeparator = MaxMindDatabase.FromBytes(File([(5, DataRecord(1, 0))], 24, 6, String("x")));
        var error = Assert.Throws<MaxMindFormatException>(() => intoSeparator.Find(IPAddress.Parse("::1")));
        Assert.Equal(MaxMindFormatException.BadSearchTree, error.Code);
        Assert.True(intoSeparator.Find(IPAddress.Parse("8000::1")).Found);
        Assert.Throws<MaxMindFormatException>(intoSeparator.Verify);

        var pastData = MaxMindDatabase.FromBytes(File([(DataRecord(1, 500), DataRecord(1, 0))], 24, 6, String("x")));
        Assert.Equal(MaxMindFormatException.BadSearchTree, Assert.Throws<MaxMindFormatException>(() => pastData.Find(IPAddress.Parse("::1"))).Code);
    }

    [Fact]
    public void A_tree_that_loops_back_is_refused_by_lookups_and_verification_without_hanging()
    {
        // Node 0's left record points back to node 0: a lookup runs out of address bits.
        var database = MaxMindDatabase.FromBytes(File([(0, DataRecord(1, 0))], 24, 6, String("x")));
        Assert.Equal(MaxMindFormatException.BadSearchTree, Assert.Throws<MaxMindFormatException>(() => database.Find(IPAddress.Parse("::"))).Code);
        Assert.True(database.Find(IPAddress.Parse("8000::")).Found);
        Assert.Contains("loop", Assert.Throws<MaxMindFormatException>(database.Verify).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_broken_double_format_database_fails_on_the_record_with_the_bad_double()
    {
        var database = MaxMindTestData.Open("GeoIP2-City-Test-Broken-Double-Format");
        var lookup = database.Find(IPAddress.Parse("2001:220::"));
        Assert.True(lookup.Found);
        var error = Assert.Throws<MaxMindFormatException>(() => database.Decode(lookup));
        Assert.Equal(MaxMindFormatException.BadSize, error.Code);
        Assert.Contains("Double", error.Message, StringComparison.Ordinal);
        Assert.Throws<MaxMindFormatException>(database.Verify);
    }

    [Fact]
    public void The_invalid_node_count_database_is_refused_at_open()
    {
        var error = Assert.Throws<MaxMindFormatException>(() => MaxMindTestData.Open("GeoIP2-City-Test-Invalid-Node-Count"));
        Assert.Equal(MaxMindFormatException.BadSearchTree, error.Code);
    }

    [Fact]
    public void The_broken_pointers_database_fails_on_the_broken_records_only()
    {
        var database = MaxMindTestData.Open("MaxMind-DB-test-broken-pointers-24");
        Assert.Equal("1.1.1.1", FindIp(database, "1.1.1.1"));
        Assert.Throws<MaxMindFormatException>(() => database.Decode(database.Find(IPAddress.Parse("1.1.1.16"))));
        Assert.Throws<MaxMindFormatException>(() => database.Find(IPAddress.Parse("1.1.1.32")));
        Assert.Throws<MaxMindFormatException>(database.Verify);
    }

    [Fact]
    public void The_broken_search_tree_database_fails_verification()
    {
        var database = MaxMindTestData.Open("MaxMind-DB-test-broken-search-tree-24");
        Assert.Throws<MaxMindFormatException>(database.Verify);
    }

    private static void AssertLookup(string databaseName, int recordSize, int ipVersion, string address, string? expected, int prefix)
    {
        var database = MaxMindTestData.Open(databaseName);
        Assert.Equal(recordSize, database.Metadata.RecordSize);
        Assert.Equal(ipVersion, database.Metadata.IpVersion);
        var lookup = database.Find(IPAddress.Parse(address));
        Assert.Equal(expected is not null, lookup.Found);
        Assert.Equal(prefix, lookup.PrefixLength);
        if (expected is not null)
        {
            Assert.Equal(expected, FindIp(database, address));
        }
    }

    private static string? FindIp(MaxMindDatabase database, string address) =>
        database.FindString(database.Find(IPAddress.Parse(address)), new MaxMindPath("ip"));

    private static TheoryData<int, string, string?, int> Sizes(params (string Address, string? Expected, int Prefix)[] lookups)
    {
        var data = new TheoryData<int, string, string?, int>();
        foreach (var size in new[] { 24, 28, 32 })
        {
            foreach (var (address, expected, prefix) in lookups)
            {
                data.Add(size, address, expected, prefix);
            }
        }

        return data;
    }
}

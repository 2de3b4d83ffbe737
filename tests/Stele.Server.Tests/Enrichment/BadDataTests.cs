using System.Net;
using Stele.Server.Enrichment;

namespace Stele.Server.Tests.Enrichment;

/// <summary>
/// Hostile and corrupt databases: every file in upstream's bad-data/ (cases that crashed or hung
/// libmaxminddb, maxminddb-golang and maxminddb-python), plus truncations and bit flips of a real
/// City database. Each either opens and answers cleanly or is refused with a
/// <see cref="MaxMindFormatException"/>; no other exception, no hang.
/// </summary>
public sealed class BadDataTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private static readonly IPAddress[] Probes =
    [
        IPAddress.Parse("0.0.0.0"), IPAddress.Parse("1.1.1.1"), IPAddress.Parse("81.2.69.142"), IPAddress.Parse("128.0.0.1"),
        IPAddress.Parse("255.255.255.255"), IPAddress.Parse("::"), IPAddress.Parse("::1:ffff:ffff"), IPAddress.Parse("2001:218::1"),
        IPAddress.Parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ];

    public static TheoryData<string> BadDataFiles() => new(MaxMindTestData.BadDataFiles());

    [Fact]
    public void The_bad_data_folder_holds_the_upstream_cases()
    {
        Assert.True(MaxMindTestData.BadDataFiles().Count() >= 21, string.Join(", ", MaxMindTestData.BadDataFiles()));
    }

    [Theory]
    [MemberData(nameof(BadDataFiles))]
    public async Task A_bad_data_file_is_refused_with_a_format_error_or_read_cleanly(string file)
    {
        var bytes = await File.ReadAllBytesAsync(MaxMindTestData.BadDataPath(file));
        var outcome = await Task.Run(() => Exercise(bytes)).WaitAsync(Limit);
        Assert.True(outcome is null or MaxMindFormatException, $"{file}: {outcome}");
        if (outcome is MaxMindFormatException error)
        {
            Assert.False(string.IsNullOrWhiteSpace(error.Message));
            Assert.InRange(error.Offset, 0, bytes.Length);
        }
    }

    /// <summary>
    /// The first problem each file meets. Some are broken earlier than their names say (libmaxminddb
    /// cannot open cyclic-data-structure or metadata-is-an-uint128 either: both metadata maps are cut
    /// short, and bad-unicode-in-map-key has a corrupt search tree).
    /// </summary>
    [Theory]
    [InlineData("libmaxminddb/libmaxminddb-deep-nesting.mmdb", MaxMindFormatException.TooDeep)]
    [InlineData("libmaxminddb/libmaxminddb-deep-array-nesting.mmdb", MaxMindFormatException.TooDeep)]
    [InlineData("libmaxminddb/libmaxminddb-metadata-marker-only.mmdb", MaxMindFormatException.Truncated)]
    [InlineData("maxminddb-golang/cyclic-data-structure.mmdb", MaxMindFormatException.Truncated)]
    [InlineData("maxminddb-golang/metadata-is-an-uint128.mmdb", MaxMindFormatException.Truncated)]
    [InlineData("maxminddb-golang/invalid-string-length.mmdb", MaxMindFormatException.Truncated)]
    [InlineData("maxminddb-python/bad-unicode-in-map-key.mmdb", MaxMindFormatException.BadSearchTree)]
    public async Task Known_bad_files_are_refused_for_the_reason_they_were_made(string file, string code)
    {
        var bytes = await File.ReadAllBytesAsync(MaxMindTestData.BadDataPath(file));
        var outcome = await Task.Run(() => Exercise(bytes)).WaitAsync(Limit);
        var error = Assert.IsType<MaxMindFormatException>(outcome);
        Assert.True(code == error.Code, $"{file}: {error.Code}: {error.Message}");
    }

    [Theory]
    [InlineData("libmaxminddb/libmaxminddb-uint64-max-epoch.mmdb")]
    [InlineData("libmaxminddb/libmaxminddb-empty-map-last-in-metadata.mmdb")]
    [InlineData("libmaxminddb/libmaxminddb-empty-array-last-in-metadata.mmdb")]
    public async Task Unusual_but_valid_files_open(string file)
    {
        var bytes = await File.ReadAllBytesAsync(MaxMindTestData.BadDataPath(file));
        var database = MaxMindDatabase.FromBytes(bytes);
        if (file.Contains("uint64", StringComparison.Ordinal))
        {
            Assert.Equal(ulong.MaxValue, database.Metadata.BuildEpoch);
            Assert.Null(database.Metadata.BuildTime);
        }
    }

    [Fact]
    public async Task Every_truncation_of_a_city_database_is_refused_or_read_cleanly()
    {
        var original = await File.ReadAllBytesAsync(MaxMindTestData.TestDatabasePath("GeoIP2-City-Test"));
        var refused = 0;
        await Task.Run(() =>
        {
            for (var length = 0; length < original.Length; length += 37)
            {
                var outcome = Exercise(original[..length]);
                Assert.True(outcome is null or MaxMindFormatException, $"truncated to {length} bytes: {outcome}");
                refused += outcome is null ? 0 : 1;
            }
        }).WaitAsync(Limit * 3);
        Assert.True(refused > 0);
    }

    [Fact]
    public async Task Random_bit_flips_in_a_city_database_are_refused_or_read_cleanly()
    {
        var original = await File.ReadAllBytesAsync(MaxMindTestData.TestDatabasePath("GeoIP2-City-Test"));
        var random = new Random(20261122);
        var refused = 0;
        await Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                var mutated = (byte[])original.Clone();
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    mutated[random.Next(mutated.Length)] ^= (byte)(1 << random.Next(8));
                }

                var outcome = Exercise(mutated);
                Assert.True(outcome is null or MaxMindFormatException, $"mutation {i}: {outcome}");
                refused += outcome is null ? 0 : 1;
            }
        }).WaitAsync(Limit * 3);
        Assert.True(refused > 0);
    }

    /// <summary>Opens, verifies, looks up and decodes; returns the exception thrown, or null.</summary>
    private static Exception? Exercise(byte[] bytes)
    {
        try
        {
            var database = MaxMindDatabase.FromBytes(bytes);
            Exception? first = null;
            foreach (var probe in Probes)
            {
                try
                {
                    var lookup = database.Find(probe);
                    database.Decode(lookup);
                    database.FindString(lookup, new MaxMindPath("country", "iso_code"));
                    database.FindString(lookup, new MaxMindPath("city", "names", "en"));
                }
                catch (Exception ex)
                {
                    first ??= ex;
                    if (ex is not MaxMindFormatException)
                    {
                        return ex;
                    }
                }
            }

            database.Verify();
            return first;
        }
#pragma warning disable CA1031 // The test reports whatever was thrown.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ex;
        }
    }
}

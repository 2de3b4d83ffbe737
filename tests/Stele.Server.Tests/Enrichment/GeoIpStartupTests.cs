using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stele.Server.Hosting;

namespace Stele.Server.Tests.Enrichment;

/// <summary>
/// The GeoIp and TrustedProxies settings at start: a missing or broken database and a bad proxy
/// list stop the server with a message naming the setting; without a database start-up says once
/// that enrichment is off.
/// </summary>
public sealed class GeoIpStartupTests
{
    private static Dictionary<string, string?> Settings(string dataDirectory, params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["DataDirectory"] = dataDirectory,
            ["Listen"] = "http://127.0.0.1:0",
            ["InstanceName"] = "test.stele",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    public static TheoryData<string, string> BrokenDatabases => new()
    {
        { "a file that is not there", "there is no file at" },
        { "a directory", "there is no file at" },
        { "a text file", "no metadata marker" },
        { "libmaxminddb/libmaxminddb-deep-nesting.mmdb", "nested more than" },
        { "maxminddb-golang/invalid-data-record-offset.mmdb", "not a valid MaxMind DB file" },
        { "GeoIP2-City-Test-Broken-Double-Format", "Double" },
    };

    [Theory]
    [MemberData(nameof(BrokenDatabases))]
    public void The_server_refuses_to_start_with_a_missing_or_broken_database(string database, string reason)
    {
        var directory = Path.Combine(Path.GetTempPath(), "stele-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var path = database switch
            {
                "a file that is not there" => Path.Combine(directory, "GeoLite2-City.mmdb"),
                "a directory" => directory,
                "a text file" => WriteText(Path.Combine(directory, "city.mmdb")),
                _ when database.Contains('/', StringComparison.Ordinal) => MaxMindTestData.BadDataPath(database),
                _ => MaxMindTestData.TestDatabasePath(database),
            };

            var error = Assert.Throws<OptionsValidationException>(() =>
                SteleHost.Create(Settings(Path.Combine(directory, "data"), ("GeoIp:DatabasePath", path)), l => l.ClearProviders()));
            var failure = Assert.Single(error.Failures);
            Assert.StartsWith("GeoIp:DatabasePath (STELE_GEOIP__DATABASEPATH)", failure, StringComparison.Ordinal);
            Assert.Contains(path, failure, StringComparison.Ordinal);
            Assert.Contains(reason, failure, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("10.0.0.1/8")]
    [InlineData("proxy.internal")]
    [InlineData("10.0.0.0/8,,::1")]
    public void The_server_refuses_to_start_with_a_bad_trusted_proxy_list(string proxies)
    {
        var error = Assert.Throws<OptionsValidationException>(() =>
            SteleHost.Create(Settings(Path.Combine(Path.GetTempPath(), "stele-tests", Guid.NewGuid().ToString("N")), ("TrustedProxies", proxies)), l => l.ClearProviders()));
        Assert.StartsWith("TrustedProxies (STELE_TRUSTEDPROXIES)", Assert.Single(error.Failures), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 5101)]
    [InlineData("", 5101)]
    [InlineData("GeoLite2-Country-Test", 5102)]
    public async Task Start_up_says_once_whether_enrichment_is_on(string? database, int eventId)
    {
        var directory = Path.Combine(Path.GetTempPath(), "stele-tests", Guid.NewGuid().ToString("N"));
        var provider = new CollectingLoggerProvider();
        var path = database is { Length: > 0 } ? MaxMindTestData.TestDatabasePath(database) : database;
        var host = SteleHost.Create(Settings(directory, ("GeoIp:DatabasePath", path)), l =>
        {
            l.ClearProviders();
            l.SetMinimumLevel(LogLevel.Information);
            l.AddProvider(provider);
        });
        try
        {
            await host.StartAsync();
        }
        finally
        {
            await host.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }

        var entries = provider.Entries.Where(e => e.Id.Id is 5101 or 5102).ToList();
        var entry = Assert.Single(entries);
        Assert.Equal(eventId, entry.Id.Id);
        if (eventId == 5102)
        {
            Assert.Contains("GeoLite2-Country", entry.Message, StringComparison.Ordinal);
        }
    }

    private static string WriteText(string path)
    {
        File.WriteAllText(path, "this is not a MaxMind database\n");
        return path;
    }

    private sealed class CollectingLoggerProvider : ILoggerProvider
    {
        private readonly CollectingLogger<object> _logger = new();

        public IReadOnlyList<(LogLevel Level, EventId Id, string Message)> Entries => _logger.Entries;

        public ILogger CreateLogger(string categoryName) => _logger;

        public void Dispose()
        {
        }
    }
}

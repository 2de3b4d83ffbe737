using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Stele.Server.Hosting;

namespace Stele.Server.Tests;

/// <summary>
/// Start-up validation: every bad setting stops the server before it serves anything, with a
/// message that names the setting (and its environment variable), never a password.
/// </summary>
public sealed class StartupConfigurationTests
{
    private const string Password = "Sup3r-Secret-Pw";

    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "Listen", "ftp://127.0.0.1:8080", "Listen (STELE_LISTEN, --listen)" },
        { "Listen", "localhost-8080", "Listen (STELE_LISTEN, --listen)" },
        { "Listen", "http://127.0.0.1:99999", "Listen (STELE_LISTEN, --listen)" },
        { "Store", $"mysql://stele:{Password}@db/audit", "Store (STELE_STORE, --store)" },
        { "Store", "db.example:5432", "Store (STELE_STORE, --store)" },
        { "StoreOwner", $"postgres://owner:{Password}@db/audit", "StoreOwner (STELE_STOREOWNER)" },
        { "DataDirectory", " ", "DataDirectory (STELE_DATADIRECTORY, --data-dir)" },
        { "InstanceName", "my instance", "InstanceName (STELE_INSTANCENAME, --instance-name)" },
        { "InstanceName", "a+b", "InstanceName (STELE_INSTANCENAME, --instance-name)" },
        { "CheckpointInterval", "00:00:00", "CheckpointInterval (STELE_CHECKPOINTINTERVAL)" },
        { "CheckpointInterval", "00:10:01", "CheckpointInterval (STELE_CHECKPOINTINTERVAL)" },
        { "CheckpointInterval", "-00:00:01", "CheckpointInterval (STELE_CHECKPOINTINTERVAL)" },
        { "MaxClockSkew", "-00:05:00", "MaxClockSkew (STELE_MAXCLOCKSKEW)" },
        { "MaxEventsPerCommit", "0", "MaxEventsPerCommit (STELE_MAXEVENTSPERCOMMIT)" },
        { "MaxEventsPerCommit", "100001", "MaxEventsPerCommit (STELE_MAXEVENTSPERCOMMIT)" },
        { "MaxIndexLag", "-1", "MaxIndexLag (STELE_MAXINDEXLAG)" },
        { "MaxIndexLag", "100001", "MaxIndexLag (STELE_MAXINDEXLAG)" },
        { "MaxCommitHold", "-00:00:01", "MaxCommitHold (STELE_MAXCOMMITHOLD)" },
        { "MaxCommitHold", "00:01:01", "MaxCommitHold (STELE_MAXCOMMITHOLD)" },
        { "RateLimits:PerKeyPerSecond", "-1", "RateLimits:PerKeyPerSecond (STELE_RATELIMITS__PERKEYPERSECOND)" },
        { "RateLimits:PerKeyBurst", "-1", "RateLimits:PerKeyBurst (STELE_RATELIMITS__PERKEYBURST)" },
        { "RateLimits:PerLedgerPerSecond", "-10", "RateLimits:PerLedgerPerSecond (STELE_RATELIMITS__PERLEDGERPERSECOND)" },
        { "RateLimits:PerLedgerBurst", "-1", "RateLimits:PerLedgerBurst (STELE_RATELIMITS__PERLEDGERBURST)" },
        { "ExportRetention", "00:00:00", "ExportRetention (STELE_EXPORTRETENTION)" },
        { "ExportRetention", "-7.00:00:00", "ExportRetention (STELE_EXPORTRETENTION)" },
        { "ExportRetention", "3651.00:00:00", "ExportRetention (STELE_EXPORTRETENTION)" },
        { "ExportMonthlyQuota", "-1", "ExportMonthlyQuota (STELE_EXPORTMONTHLYQUOTA)" },
        { "ExportConcurrencyPerLedger", "0", "ExportConcurrencyPerLedger (STELE_EXPORTCONCURRENCYPERLEDGER)" },
        { "ExportConcurrencyPerLedger", "101", "ExportConcurrencyPerLedger (STELE_EXPORTCONCURRENCYPERLEDGER)" },
    };

    public static TheoryData<string, string> UnreadableSettings => new()
    {
        { "CheckpointInterval", "every second" },
        { "ExportRetention", "a week" },
        { "MaxEventsPerCommit", "many" },
        { "ExportMonthlyQuota", "1e3" },
        { "RateLimits:PerKeyPerSecond", "lots" },
    };

    private static Dictionary<string, string?> Settings(params (string Key, string? Value)[] values)
    {
        var settings = new Dictionary<string, string?>
        {
            ["DataDirectory"] = Path.Combine(Path.GetTempPath(), "stele-tests", Guid.NewGuid().ToString("N")),
            ["Listen"] = "http://127.0.0.1:0",
            ["InstanceName"] = "test.stele",
        };
        foreach (var (key, value) in values)
        {
            settings[key] = value;
        }

        return settings;
    }

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void A_bad_setting_stops_the_server_with_a_message_naming_it(string setting, string value, string named)
    {
        var settings = Settings((setting, value));
        var error = Assert.Throws<OptionsValidationException>(() => SteleHost.Create(settings));

        var failure = Assert.Single(error.Failures);
        Assert.StartsWith(named, failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, failure, StringComparison.Ordinal);
        Assert.False(Directory.Exists(settings["DataDirectory"]), "nothing may be created before the settings are valid");
    }

    [Theory]
    [MemberData(nameof(UnreadableSettings))]
    public void A_value_of_the_wrong_type_stops_the_server_with_a_message_naming_the_setting(string setting, string value)
    {
        var settings = Settings((setting, value));
        var error = Assert.Throws<OptionsValidationException>(() => SteleHost.Create(settings));

        Assert.Contains($"'{value}' at '{setting}'", Assert.Single(error.Failures), StringComparison.Ordinal);
        Assert.False(Directory.Exists(settings["DataDirectory"]), "nothing may be created before the settings are valid");
    }

    [Fact]
    public void Every_bad_setting_is_reported_at_once()
    {
        var error = Assert.Throws<OptionsValidationException>(() => SteleHost.Create(Settings(
            ("Listen", "ftp://x"), ("CheckpointInterval", "00:00:00"), ("RateLimits:PerLedgerBurst", "-1"), ("ExportMonthlyQuota", "-1"))));

        Assert.Equal(4, error.Failures.Count());
        Assert.Contains(error.Failures, f => f.StartsWith("Listen ", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("CheckpointInterval ", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("RateLimits:PerLedgerBurst ", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("ExportMonthlyQuota ", StringComparison.Ordinal));
    }

    [Fact]
    public void Setting_both_a_signing_key_file_and_a_signing_key_is_refused()
    {
        var error = Assert.Throws<OptionsValidationException>(() => SteleHost.Create(Settings(("SigningKeyFile", "/tmp/key"), ("SigningKey", "PRIVATE+KEY+x"))));
        Assert.StartsWith("Set SigningKeyFile (STELE_SIGNINGKEYFILE, --signing-key-file) or SigningKey (STELE_SIGNINGKEY), not both", Assert.Single(error.Failures), StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE+KEY", Assert.Single(error.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_listen_port_that_is_taken_stops_the_start_naming_listen()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        await using var host = SteleHost.Create(Settings(("Listen", $"http://127.0.0.1:{port}")), logging: l => l.SetMinimumLevel(LogLevel.None));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.StartsWith($"Listen (STELE_LISTEN, --listen): could not listen on http://127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_data_directory_that_cannot_be_created_stops_the_start_naming_it()
    {
        var file = Path.GetTempFileName();
        try
        {
            await using var host = SteleHost.Create(Settings(("DataDirectory", Path.Combine(file, "data"))), logging: l => l.SetMinimumLevel(LogLevel.None));
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
            Assert.StartsWith("DataDirectory (STELE_DATADIRECTORY, --data-dir): could not open the store SQLite ", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task An_unreachable_postgres_store_stops_the_start_naming_the_store_without_its_password()
    {
        var logs = new CapturedLogs();
        var store = $"Host=127.0.0.1;Port=1;Database=audit;Username=stele_app;Password={Password};Timeout=3";
        await using var host = SteleHost.Create(Settings(("Store", store)), logging: logs.Configure(stele: LogLevel.Information));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.StartsWith("Store (STELE_STORE, --store): could not open the store PostgreSQL stele_app@127.0.0.1:1/audit (password redacted): ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Entries, e => e.Text.Contains(Password, StringComparison.Ordinal));

        // Without an owner connection the server would run as the tables' owner: it says so, once.
        Assert.Single(logs.Entries, e => e.EventId.Id == 3103 && e.Level == LogLevel.Warning);
    }
}

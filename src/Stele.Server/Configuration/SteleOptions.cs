namespace Stele.Server.Configuration;

/// <summary>
/// Server settings, bound from appsettings, environment variables with the <c>STELE_</c> prefix
/// (for example <c>STELE_DATADIRECTORY</c>, <c>STELE_RATELIMITS__PERKEYPERSECOND</c>) and
/// command-line flags. Validated at start-up by <see cref="SteleOptionsValidator"/>.
/// </summary>
public sealed class SteleOptions
{
    /// <summary>Where the embedded database and the signing key live.</summary>
    public string DataDirectory { get; set; } = "stele-data";

    /// <summary>The address Kestrel listens on; port 0 picks a free port.</summary>
    public string Listen { get; set; } = "http://127.0.0.1:8080";

    /// <summary>The instance's name: the signing key's name and the prefix of every checkpoint origin.</summary>
    public string InstanceName { get; set; } = "stele.localhost";

    /// <summary>How often a growing ledger gets a new signed checkpoint.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How far in the future an <c>occurred_at</c> may be before it is rejected.</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Most events one group commit writes in a single transaction.</summary>
    public int MaxEventsPerCommit { get; set; } = 5000;

    public RateLimitOptions RateLimits { get; set; } = new();

    /// <summary>How long a finished export can be downloaded before its file is deleted.</summary>
    public TimeSpan ExportRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Exports each ledger may create per calendar month (UTC); 0 means none.</summary>
    public int ExportMonthlyQuota { get; set; } = 100;

    /// <summary>Exports of one ledger that run at once; further ones wait in the queue.</summary>
    public int ExportConcurrencyPerLedger { get; set; } = 5;
}

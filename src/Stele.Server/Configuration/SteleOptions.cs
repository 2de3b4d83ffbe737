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

    /// <summary>
    /// Where events are stored: empty or <c>sqlite</c> for the embedded SQLite file in the data
    /// directory; a <c>postgres://user:password@host/db</c> URL or an Npgsql connection string for
    /// PostgreSQL, which several Stele nodes may share. A secret: it is never printed or logged.
    /// </summary>
    public string? Store { get; set; }

    /// <summary>
    /// Optional owner connection to the same PostgreSQL database, used once at start to migrate the
    /// schema and to create or update the role <see cref="Store"/> logs in as (SELECT and INSERT
    /// only). Without it the store's own role migrates, and needs the rights to.
    /// </summary>
    public string? StoreOwner { get; set; }

    /// <summary>
    /// The checkpoint signing key file (a C2SP signer key named after the instance). Nodes sharing
    /// one database must share one key. Created if missing. Default: <c>signing.key</c> in the data directory.
    /// </summary>
    public string? SigningKeyFile { get; set; }

    /// <summary>The signing key's text itself, as an alternative to <see cref="SigningKeyFile"/> (for secret stores that inject environment variables).</summary>
    public string? SigningKey { get; set; }

    /// <summary>The address Kestrel listens on; port 0 picks a free port.</summary>
    public string Listen { get; set; } = "http://127.0.0.1:8080";

    /// <summary>The instance's name: the signing key's name and the prefix of every checkpoint origin.</summary>
    public string InstanceName { get; set; } = "stele.localhost";

    /// <summary>
    /// How long an acknowledged event may wait for a signed checkpoint that covers it. A group
    /// commit writes one itself when the last is this old, when leaving it to the next commit
    /// would make an acknowledged event wait longer, or under heavy ingestion
    /// (<see cref="Integrity.CheckpointSchedule.IsDue"/>); a ledger that went quiet gets one from
    /// the checkpoint loop this long after the last.
    /// Below one second, so that scheduling leaves room within the one-second target.
    /// </summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMilliseconds(750);

    /// <summary>How far in the future an <c>occurred_at</c> may be before it is rejected.</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Most events one group commit writes in a single transaction.</summary>
    public int MaxEventsPerCommit { get; set; } = 5000;

    /// <summary>
    /// Most events the indexer holds in memory and writes to the query indexes at a time (a chunk). An
    /// indexer that has fallen behind writes up to ten chunks, or 1 s of them, in one transaction
    /// (<c>EventIndexer.ChunksPerTransaction</c>); index pages are written once per transaction, so larger
    /// chunks index faster under load, at the cost of memory and of how long an event waits to be queryable.
    /// </summary>
    public int IndexBatchSize { get; set; } = 5000;

    /// <summary>
    /// How many events the query indexes (all but search) may trail a ledger by before its group commits
    /// are held back, each for at most <see cref="MaxCommitHold"/>, so that sustained ingestion leaves the
    /// indexer the CPU it needs and filtered queries stay within about a second of ingestion
    /// (<c>IndexLagPacer</c>). Not applied while the indexes catch up from more than 200,000 events
    /// behind. 0 turns pacing off.
    /// </summary>
    public int MaxIndexLag { get; set; } = 5000;

    /// <summary>The longest one group commit is held back while the query indexes trail by more than <see cref="MaxIndexLag"/>.</summary>
    public TimeSpan MaxCommitHold { get; set; } = TimeSpan.FromMilliseconds(500);

    public RateLimitOptions RateLimits { get; set; } = new();

    /// <summary>How log entries are written to standard output: <c>text</c> (one line each) or <c>json</c> (one object each).</summary>
    public string LogFormat { get; set; } = "text";

    /// <summary>Detection: rule quotas, polling, the tamper monitor, delivery leases.</summary>
    public AlertOptions Alerts { get; set; } = new();

    /// <summary>
    /// Where export files are written; default <c>&lt;DataDirectory&gt;/exports</c>. With several nodes on
    /// one database, a directory all of them share (any node may run a job, any node may serve its download).
    /// </summary>
    public string? ExportDirectory { get; set; }

    /// <summary>How long a finished export can be downloaded before its file is deleted.</summary>
    public TimeSpan ExportRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Exports each ledger may create per calendar month (UTC); 0 means none.</summary>
    public int ExportMonthlyQuota { get; set; } = 100;

    /// <summary>Exports of one ledger that run at once; further ones wait in the queue.</summary>
    public int ExportConcurrencyPerLedger { get; set; } = 5;

    /// <summary>The SMTP server alert emails are sent through; off until <c>Smtp:Host</c> is set.</summary>
    public SmtpOptions Smtp { get; set; } = new();

    /// <summary>How alert webhooks are sent.</summary>
    public WebhookOptions Webhooks { get; set; } = new();

    /// <summary>GeoIP enrichment of <c>ip_country</c> and <c>ip_city</c>; off unless a database is set.</summary>
    public GeoIpOptions GeoIp { get; set; } = new();

    /// <summary>
    /// Reverse proxies whose <c>X-Forwarded-For</c> is believed: comma-separated IP addresses and
    /// CIDR ranges, for example <c>10.0.0.0/8, 192.168.1.5, fd00::/8</c>. A request from any other
    /// address is attributed to the connection's own address, whatever headers it sends.
    /// </summary>
    public string? TrustedProxies { get; set; }
}

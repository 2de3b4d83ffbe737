using System.Net;
using System.Net.Mail;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Stele.Server.Ingestion;
using Stele.Storage;

namespace Stele.Server.Configuration;

/// <summary>Start-up validation: a bad setting stops the server with a message that names it.</summary>
internal sealed partial class SteleOptionsValidator : IValidateOptions<SteleOptions>
{
    public ValidateOptionsResult Validate(string? name, SteleOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add("DataDirectory (STELE_DATADIRECTORY, --data-dir) must name a directory.");
        }

        if (!Uri.TryCreate(options.Listen, UriKind.Absolute, out var listen) || (listen.Scheme != "http" && listen.Scheme != "https"))
        {
            failures.Add($"Listen (STELE_LISTEN, --listen) must be an http:// or https:// URL such as http://127.0.0.1:8080, got '{options.Listen}'.");
        }

        // The instance name becomes a C2SP note key name and checkpoint origin prefix: no spaces or '+'.
        if (!InstanceNamePattern().IsMatch(options.InstanceName ?? string.Empty))
        {
            failures.Add($"InstanceName (STELE_INSTANCENAME, --instance-name) must be 1-100 characters of letters, digits, '.', '-', '_' or '/', got '{options.InstanceName}'.");
        }

        if (options.CheckpointInterval <= TimeSpan.Zero || options.CheckpointInterval > TimeSpan.FromMinutes(10))
        {
            failures.Add($"CheckpointInterval (STELE_CHECKPOINTINTERVAL) must be more than 00:00:00 and at most 00:10:00, got '{options.CheckpointInterval}'.");
        }

        if (options.MaxClockSkew < TimeSpan.Zero)
        {
            failures.Add($"MaxClockSkew (STELE_MAXCLOCKSKEW) cannot be negative, got '{options.MaxClockSkew}'.");
        }

        if (options.MaxEventsPerCommit is < 1 or > 100_000)
        {
            failures.Add($"MaxEventsPerCommit (STELE_MAXEVENTSPERCOMMIT) must be between 1 and 100000, got {options.MaxEventsPerCommit}.");
        }

        if (options.IndexBatchSize is < 1 or > 100_000)
        {
            failures.Add("IndexBatchSize must be between 1 and 100000.");
        }

        if (options.MaxIndexLag is < 0 or > 100_000)
        {
            failures.Add($"MaxIndexLag (STELE_MAXINDEXLAG) must be between 0 (no pacing) and 100000, got {options.MaxIndexLag}.");
        }

        if (options.MaxCommitHold < TimeSpan.Zero || options.MaxCommitHold > TimeSpan.FromMinutes(1))
        {
            failures.Add($"MaxCommitHold (STELE_MAXCOMMITHOLD) must be between 00:00:00 and 00:01:00, got '{options.MaxCommitHold}'.");
        }

        try
        {
            StoreFactory.Validate(options.Store);
        }
        catch (ArgumentException ex)
        {
            failures.Add($"Store (STELE_STORE, --store): {Reason(ex)}");
        }

        if (!string.IsNullOrWhiteSpace(options.StoreOwner))
        {
            try
            {
                StoreFactory.ValidateProvisioning(options.Store, options.StoreOwner);
            }
            catch (ArgumentException ex)
            {
                failures.Add($"StoreOwner (STELE_STOREOWNER): {Reason(ex)}");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.SigningKeyFile) && !string.IsNullOrWhiteSpace(options.SigningKey))
        {
            failures.Add("Set SigningKeyFile (STELE_SIGNINGKEYFILE, --signing-key-file) or SigningKey (STELE_SIGNINGKEY), not both.");
        }

        if (options.ExportRetention <= TimeSpan.Zero || options.ExportRetention > TimeSpan.FromDays(3650))
        {
            failures.Add($"ExportRetention (STELE_EXPORTRETENTION) must be more than 00:00:00 and at most 3650 days, got '{options.ExportRetention}'.");
        }

        if (options.ExportMonthlyQuota < 0)
        {
            failures.Add($"ExportMonthlyQuota (STELE_EXPORTMONTHLYQUOTA) cannot be negative, got {options.ExportMonthlyQuota}.");
        }

        if (options.ExportConcurrencyPerLedger is < 1 or > 100)
        {
            failures.Add($"ExportConcurrencyPerLedger (STELE_EXPORTCONCURRENCYPERLEDGER) must be between 1 and 100, got {options.ExportConcurrencyPerLedger}.");
        }

        if (!TrustedProxies.TryParse(options.TrustedProxies, out _, out var proxyError))
        {
            failures.Add($"TrustedProxies (STELE_TRUSTEDPROXIES): {proxyError}.");
        }

        // Empty means unset (enrichment off), so a deployment template can leave the variable blank.
        if (options.GeoIp?.DatabasePath is { } geoIpPath && !string.IsNullOrWhiteSpace(geoIpPath) && !File.Exists(geoIpPath))
        {
            failures.Add($"{GeoIpDatabaseSetting}: there is no file at '{geoIpPath}'.");
        }

        var limits = options.RateLimits ?? new RateLimitOptions();
        foreach (var (setting, value) in new[]
        {
            ("PerKeyPerSecond", limits.PerKeyPerSecond),
            ("PerKeyBurst", limits.PerKeyBurst),
            ("PerLedgerPerSecond", limits.PerLedgerPerSecond),
            ("PerLedgerBurst", limits.PerLedgerBurst),
        })
        {
            if (value < 0)
            {
                failures.Add($"RateLimits:{setting} (STELE_RATELIMITS__{setting.ToUpperInvariant()}) cannot be negative (0 turns the limit off), got {value}.");
            }
        }

        if (!string.Equals(options.LogFormat, "text", StringComparison.OrdinalIgnoreCase) && !string.Equals(options.LogFormat, "json", StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"LogFormat (STELE_LOGFORMAT) must be 'text' or 'json', got '{options.LogFormat}'.");
        }

        ValidateAlerts(options.Alerts, failures);
        ValidateSmtp(options.Smtp, failures);
        ValidateWebhooks(options.Webhooks, failures);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // Never quotes Password; the other SMTP settings are configuration, not secrets.
    private static void ValidateSmtp(SmtpOptions smtp, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(smtp.Host))
        {
            if (!string.IsNullOrWhiteSpace(smtp.From) || !string.IsNullOrWhiteSpace(smtp.Username) || !string.IsNullOrEmpty(smtp.Password))
            {
                failures.Add("Smtp:Host (STELE_SMTP__HOST) must be set when other Smtp settings are; without it no email is sent.");
            }

            return;
        }

        if (Uri.CheckHostName(smtp.Host.Trim()) == UriHostNameType.Unknown)
        {
            failures.Add($"Smtp:Host (STELE_SMTP__HOST) must be a host name or an IP address, got '{smtp.Host}'.");
        }

        if (smtp.Port is < 1 or > 65535)
        {
            failures.Add($"Smtp:Port (STELE_SMTP__PORT) must be between 1 and 65535, got {smtp.Port}.");
        }

        if (string.IsNullOrWhiteSpace(smtp.From))
        {
            failures.Add("Smtp:From (STELE_SMTP__FROM) must be set when Smtp:Host is: the sender address of alert emails.");
        }
        else if (!MailAddress.TryCreate(smtp.From, out _))
        {
            failures.Add($"Smtp:From (STELE_SMTP__FROM) must be an email address such as 'Stele <alerts@example.com>', got '{smtp.From}'.");
        }

        var hasUser = !string.IsNullOrWhiteSpace(smtp.Username);
        var hasPassword = !string.IsNullOrEmpty(smtp.Password);
        if (hasUser != hasPassword)
        {
            failures.Add("Set both Smtp:Username (STELE_SMTP__USERNAME) and Smtp:Password (STELE_SMTP__PASSWORD), or neither.");
        }

        if (!Enum.IsDefined(smtp.Security))
        {
            failures.Add("Smtp:Security (STELE_SMTP__SECURITY) must be 'starttls' or 'none'.");
        }
        else if (smtp.Security == SmtpSecurity.None && hasPassword && !IsLoopback(smtp.Host.Trim()))
        {
            failures.Add("Smtp:Security is 'none', so Smtp:Password would cross the network in clear text; use 'starttls' or a relay on this host.");
        }

        if (smtp.Timeout <= TimeSpan.Zero || smtp.Timeout > TimeSpan.FromMinutes(10))
        {
            failures.Add("Smtp:Timeout (STELE_SMTP__TIMEOUT) must be between 0 and 10 minutes.");
        }

        if (!string.IsNullOrWhiteSpace(smtp.TrustedCertificateFile))
        {
            var problem = TrustedCertificatesProblem(smtp.TrustedCertificateFile);
            if (problem is not null)
            {
                failures.Add($"Smtp:TrustedCertificateFile (STELE_SMTP__TRUSTEDCERTIFICATEFILE): {problem}");
            }
        }
    }

    private static void ValidateWebhooks(WebhookOptions webhooks, List<string> failures)
    {
        if (webhooks.Timeout <= TimeSpan.Zero || webhooks.Timeout > TimeSpan.FromMinutes(5))
        {
            failures.Add("Webhooks:Timeout (STELE_WEBHOOKS__TIMEOUT) must be between 0 and 5 minutes.");
        }

        if (webhooks.MaxRetryAfter < TimeSpan.Zero || webhooks.MaxRetryAfter > TimeSpan.FromDays(7))
        {
            failures.Add("Webhooks:MaxRetryAfter (STELE_WEBHOOKS__MAXRETRYAFTER) must be between 0 and 7 days.");
        }

        if (!IsValidUserAgent(webhooks.UserAgent))
        {
            failures.Add($"Webhooks:UserAgent (STELE_WEBHOOKS__USERAGENT) must be a User-Agent header value such as 'Stele-Webhooks/1.0', got '{webhooks.UserAgent}'.");
        }
    }

    private static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));

    private static bool IsValidUserAgent(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 200 || value.Any(char.IsControl))
        {
            return false;
        }

        using var probe = new HttpRequestMessage();
        return probe.Headers.UserAgent.TryParseAdd(value) && probe.Headers.UserAgent.Count > 0;
    }

    internal static string? TrustedCertificatesProblem(string path)
    {
        if (!File.Exists(path))
        {
            return $"the file '{path}' does not exist.";
        }

        try
        {
            var certificates = new X509Certificate2Collection();
            certificates.ImportFromPemFile(path);
            return certificates.Count == 0 ? $"'{path}' holds no PEM certificate." : null;
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            return $"'{path}' could not be read as PEM certificates ({ex.GetType().Name}).";
        }
    }

    private static void ValidateAlerts(AlertOptions alerts, List<string> failures)
    {
        void Between(TimeSpan value, string name, TimeSpan min, TimeSpan max)
        {
            if (value < min || value > max)
            {
                failures.Add($"Alerts:{name} (STELE_ALERTS__{name.ToUpperInvariant()}) must be between {min:c} and {max:c}.");
            }
        }

        Between(alerts.PollInterval, nameof(AlertOptions.PollInterval), TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10));
        Between(alerts.DeliveryPollInterval, nameof(AlertOptions.DeliveryPollInterval), TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10));
        Between(alerts.TamperCheckInterval, nameof(AlertOptions.TamperCheckInterval), TimeSpan.FromMilliseconds(10), TimeSpan.FromDays(1));
        Between(alerts.DeliveryLease, nameof(AlertOptions.DeliveryLease), TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Between(alerts.SecretRotationOverlap, nameof(AlertOptions.SecretRotationOverlap), TimeSpan.Zero, TimeSpan.FromDays(30));
        Between(alerts.DeliveryBaseDelay, nameof(AlertOptions.DeliveryBaseDelay), TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1));
        Between(alerts.DeliveryMaxDelay, nameof(AlertOptions.DeliveryMaxDelay), alerts.DeliveryBaseDelay, TimeSpan.FromDays(1));
        if (alerts.DeliveryMaxAttempts is < 1 or > 100)
        {
            failures.Add("Alerts:DeliveryMaxAttempts (STELE_ALERTS__DELIVERYMAXATTEMPTS) must be between 1 and 100.");
        }

        if (alerts.RuleQuotaPerLedger is < 0 or > 10_000)
        {
            failures.Add("Alerts:RuleQuotaPerLedger (STELE_ALERTS__RULEQUOTAPERLEDGER) must be between 0 and 10000.");
        }

        if (alerts.DestinationQuotaPerLedger is < 0 or > 1_000)
        {
            failures.Add("Alerts:DestinationQuotaPerLedger (STELE_ALERTS__DESTINATIONQUOTAPERLEDGER) must be between 0 and 1000.");
        }
    }

    /// <summary>How messages name the GeoIP database setting.</summary>
    public const string GeoIpDatabaseSetting = "GeoIp:DatabasePath (STELE_GEOIP__DATABASEPATH)";

    // The messages never repeat the value (it may hold a password); drop the "(Parameter 'x')" suffix too.
    private static string Reason(ArgumentException ex) =>
        ex.ParamName is null ? ex.Message : ex.Message.Replace($" (Parameter '{ex.ParamName}')", string.Empty, StringComparison.Ordinal);

    [GeneratedRegex("^[A-Za-z0-9._/-]{1,100}$")]
    private static partial Regex InstanceNamePattern();
}

using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
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
            failures.Add("CheckpointInterval must be between 0 and 10 minutes.");
        }

        if (options.MaxClockSkew < TimeSpan.Zero)
        {
            failures.Add("MaxClockSkew cannot be negative.");
        }

        if (options.MaxEventsPerCommit is < 1 or > 100_000)
        {
            failures.Add("MaxEventsPerCommit must be between 1 and 100000.");
        }

        if (options.IndexBatchSize is < 1 or > 100_000)
        {
            failures.Add("IndexBatchSize must be between 1 and 100000.");
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
            failures.Add("ExportRetention must be between 0 and 3650 days.");
        }

        if (options.ExportMonthlyQuota < 0)
        {
            failures.Add("ExportMonthlyQuota cannot be negative.");
        }

        if (options.ExportConcurrencyPerLedger is < 1 or > 100)
        {
            failures.Add("ExportConcurrencyPerLedger must be between 1 and 100.");
        }

        var limits = options.RateLimits;
        if (limits.PerKeyPerSecond < 0 || limits.PerKeyBurst < 0 || limits.PerLedgerPerSecond < 0 || limits.PerLedgerBurst < 0)
        {
            failures.Add("RateLimits values cannot be negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // The messages never repeat the value (it may hold a password); drop the "(Parameter 'x')" suffix too.
    private static string Reason(ArgumentException ex) =>
        ex.ParamName is null ? ex.Message : ex.Message.Replace($" (Parameter '{ex.ParamName}')", string.Empty, StringComparison.Ordinal);

    [GeneratedRegex("^[A-Za-z0-9._/-]{1,100}$")]
    private static partial Regex InstanceNamePattern();
}

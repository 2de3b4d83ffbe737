using Microsoft.Extensions.Logging;
using Stele.Server.Api;
using Stele.Server.Auth;
using Stele.Server.Governance;
using Stele.Server.Ingestion;
using Stele.Storage;

namespace Stele.Server.Hosting;

/// <summary>
/// First-start set-up, idempotent on every start: the <c>_system</c> and <c>default</c> ledgers,
/// a sequencer per ledger, and — once per data directory — an account-wide admin key.
/// </summary>
internal sealed partial class Bootstrap(ISteleStore store, SequencerRegistry sequencers, SystemAudit audit, TimeProvider clock, ILogger<Bootstrap> logger)
{
    private const string BootstrapSetting = "bootstrap_key_issued";

    /// <summary>Returns the new admin key's secret on first start, null afterwards.</summary>
    public async Task<string?> RunAsync(CancellationToken cancellationToken)
    {
        foreach (var name in new[] { LedgerAccess.SystemLedger, LedgerAccess.DefaultLedger })
        {
            if (await store.FindLedgerAsync(name, cancellationToken).ConfigureAwait(false) is null)
            {
                var created = await store.CreateLedgerAsync(name, name == LedgerAccess.SystemLedger ? "Stele's own administrative actions" : "The default ledger", clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
                if (created is not null)
                {
                    await sequencers.GetAsync(created).ConfigureAwait(false);
                    await audit.RecordAsync("stele", "ledger.created", "ledger", name, null, null, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        foreach (var ledger in await store.ListLedgersAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await sequencers.GetAsync(ledger).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // One unreadable ledger must not keep the others (and /verify) offline.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.LedgerUnavailable(logger, ex, ledger.Name);
            }
        }

        if (await store.GetSettingAsync(BootstrapSetting, cancellationToken).ConfigureAwait(false) is not null)
        {
            return null;
        }

        var (token, prefix, hash) = ApiKeyFormat.Generate();
        var key = new ApiKeyRecord
        {
            Id = "key_" + prefix,
            Prefix = prefix,
            SecretHash = hash,
            Name = "bootstrap admin",
            Ledger = null,
            Permissions = [Permission.Admin],
            CreatedAt = clock.GetUtcNow(),
            IsBootstrap = true,
        };
        await store.AddApiKeyAsync(key, cancellationToken).ConfigureAwait(false);
        if (!await store.TrySetSettingAsync(BootstrapSetting, key.Id, cancellationToken).ConfigureAwait(false))
        {
            // Another node sharing the database issued the bootstrap key between our check and
            // now: this one was never shown to anyone, so withdraw it and print nothing.
            await store.RevokeApiKeyAsync(key.Id, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            Log.BootstrapKeyRaceLost(logger, key.Id);
            return null;
        }

        await audit.RecordAsync("stele", "api_key.created", "api_key", key.Id, null,
            new Dictionary<string, object?> { ["name"] = key.Name, ["ledger"] = null, ["permissions"] = key.Permissions, ["bootstrap"] = true },
            cancellationToken).ConfigureAwait(false);
        Log.BootstrapKeyCreated(logger, key.Id);
        return token;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3002, Level = LogLevel.Critical, Message = "Ledger {Ledger} could not be opened for writing; its stored tree is unreadable. Reads and GET /verify still work.")]
        public static partial void LedgerUnavailable(ILogger logger, Exception exception, string ledger);

        [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Another node issued the bootstrap admin key first; revoked the unused key {KeyId}")]
        public static partial void BootstrapKeyRaceLost(ILogger logger, string keyId);

        [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Created the bootstrap admin key {KeyId}; its secret is shown once on the console")]
        public static partial void BootstrapKeyCreated(ILogger logger, string keyId);
    }
}

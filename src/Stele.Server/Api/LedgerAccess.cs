using Microsoft.AspNetCore.Http;
using Stele.Server.Auth;
using Stele.Storage;

namespace Stele.Server.Api;

/// <summary>
/// Decides which ledger a request addresses and whether its key may act on it. A ledger-scoped
/// key implies its ledger; an account-wide key names it in the route or gets <c>default</c>.
/// A key never learns that another ledger exists: out-of-scope ledgers answer 404.
/// </summary>
internal sealed class LedgerAccess(ISteleStore store, ApiKeyAuthenticator authenticator, RequestRateLimiter limiter)
{
    public const string DefaultLedger = "default";
    public const string SystemLedger = "_system";

    // Ledgers are never renamed or removed, so one found is remembered (only found ones: the cache holds at most every ledger).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, LedgerInfo> _ledgers = new(StringComparer.Ordinal);

    public async Task<(Caller Caller, LedgerInfo Ledger)> ResolveAsync(HttpContext context, string permission)
    {
        var caller = await AuthenticateAsync(context).ConfigureAwait(false);
        var routeLedger = context.Request.RouteValues["ledger"] as string;
        var name = routeLedger ?? caller.Key.Ledger ?? DefaultLedger;

        if (caller.Key.Ledger is not null && !string.Equals(caller.Key.Ledger, name, StringComparison.Ordinal))
        {
            throw ApiException.NotFound($"No ledger named '{Printable(name)}'.");
        }

        if (!caller.Has(permission))
        {
            throw ApiException.Forbidden($"This API key lacks the '{permission}' permission.");
        }

        if (string.Equals(name, SystemLedger, StringComparison.Ordinal))
        {
            // Stele's own audit log: readable by account administrators, written only by Stele.
            if (!caller.IsAccountWide || !caller.Has(Permission.Admin))
            {
                throw ApiException.NotFound($"No ledger named '{SystemLedger}'.");
            }

            if (permission == Permission.Ingest)
            {
                throw ApiException.Forbidden("The _system ledger is written only by Stele itself.");
            }
        }

        if (!_ledgers.TryGetValue(name, out var ledger))
        {
            ledger = await store.FindLedgerAsync(name, context.RequestAborted).ConfigureAwait(false)
                ?? throw ApiException.NotFound($"No ledger named '{Printable(name)}'.");
            _ledgers[name] = ledger;
        }

        limiter.CheckLedger(ledger.Name);
        return (caller, ledger);
    }

    /// <summary>Authenticates and applies the per-key rate limit.</summary>
    public async Task<Caller> AuthenticateAsync(HttpContext context)
    {
        var caller = await authenticator.AuthenticateAsync(context).ConfigureAwait(false);
        limiter.CheckKey(caller.Key.Id);
        return caller;
    }

    /// <summary>Account-level administration: an admin key; ledger-scoped admins act within their ledger only.</summary>
    public async Task<Caller> RequireAdminAsync(HttpContext context)
    {
        var caller = await AuthenticateAsync(context).ConfigureAwait(false);
        if (!caller.Has(Permission.Admin))
        {
            throw ApiException.Forbidden("This API key lacks the 'admin' permission.");
        }

        return caller;
    }

    private static string Printable(string value) =>
        value.Length > 64 || value.Any(char.IsControl) ? "(invalid name)" : value;
}

using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Stele.Server.Api;
using Stele.Storage;

namespace Stele.Server.Auth;

/// <summary>Resolves <c>Authorization: Bearer</c> tokens to API keys; every failure is the same 401.</summary>
internal sealed class ApiKeyAuthenticator(ISteleStore store)
{
    private const string CallerItem = "stele.caller";

    public static Caller GetCaller(HttpContext context) =>
        context.Items[CallerItem] as Caller ?? throw ApiException.Unauthenticated("An API key is required.");

    public async Task<Caller> AuthenticateAsync(HttpContext context)
    {
        if (context.Items[CallerItem] is Caller cached)
        {
            return cached;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            throw ApiException.Unauthenticated("Send an API key as 'Authorization: Bearer <key>'.");
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            throw ApiException.Unauthenticated("The Authorization header must use the Bearer scheme.");
        }

        var token = header["Bearer ".Length..].Trim();
        var prefix = ApiKeyFormat.TryGetPrefix(token);
        if (prefix is null)
        {
            throw ApiException.Unauthenticated("The API key is malformed.");
        }

        var key = await store.FindApiKeyByPrefixAsync(prefix, context.RequestAborted).ConfigureAwait(false);
        if (key is null || key.RevokedAt is not null
            || !CryptographicOperations.FixedTimeEquals(key.SecretHash, ApiKeyFormat.Hash(token)))
        {
            throw ApiException.Unauthenticated("The API key is unknown or revoked.");
        }

        var caller = new Caller(key);
        context.Items[CallerItem] = caller;
        return caller;
    }
}

using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Stele.Server.Api;
using Stele.Storage;

namespace Stele.Server.Auth;

/// <summary>
/// Resolves <c>Authorization: Bearer</c> tokens to API keys; every failure is the same 401. A key
/// found in the store is remembered for <see cref="CacheFor"/> (its hash, not the secret), so a busy
/// client costs one store read a second rather than one per request. Revoking a key on this node
/// forgets it at once; a node sharing the database stops accepting it within <see cref="CacheFor"/>.
/// </summary>
internal sealed class ApiKeyAuthenticator(ISteleStore store, TimeProvider clock)
{
    /// <summary>How long a key read from the store is trusted before it is read again.</summary>
    public static TimeSpan CacheFor { get; } = TimeSpan.FromSeconds(1);

    private const string CallerItem = "stele.caller";
    private const int MaxCachedKeys = 10_000;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (ApiKeyRecord Key, long ReadAt)> _keys = new(StringComparer.Ordinal);

    /// <summary>Forgets a key at once (it was revoked on this node).</summary>
    public void Forget(ApiKeyRecord key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _keys.TryRemove(key.Prefix, out _);
    }

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

        ApiKeyRecord? key;
        if (_keys.TryGetValue(prefix, out var remembered) && clock.GetElapsedTime(remembered.ReadAt) < CacheFor)
        {
            key = remembered.Key;
        }
        else
        {
            var readAt = clock.GetTimestamp();
            key = await store.FindApiKeyByPrefixAsync(prefix, context.RequestAborted).ConfigureAwait(false);
            if (key is null)
            {
                _keys.TryRemove(prefix, out _);
            }
            else
            {
                if (_keys.Count >= MaxCachedKeys)
                {
                    _keys.Clear();
                }

                _keys[prefix] = (key, readAt);
            }
        }

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

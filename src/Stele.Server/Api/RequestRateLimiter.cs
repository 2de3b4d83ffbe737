using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Stele.Server.Configuration;

namespace Stele.Server.Api;

/// <summary>Token buckets per API key and per ledger; an empty bucket answers 429 with Retry-After.</summary>
internal sealed class RequestRateLimiter(IOptions<SteleOptions> options) : IDisposable
{
    private readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TokenBucketRateLimiter> _ledgers = new(StringComparer.Ordinal);

    public void CheckKey(string keyId)
    {
        var limits = options.Value.RateLimits;
        Check(_keys, keyId, limits.PerKeyPerSecond, limits.PerKeyBurst, "this API key");
    }

    public void CheckLedger(string ledger)
    {
        var limits = options.Value.RateLimits;
        Check(_ledgers, ledger, limits.PerLedgerPerSecond, limits.PerLedgerBurst, "this ledger");
    }

    private static void Check(ConcurrentDictionary<string, TokenBucketRateLimiter> buckets, string name, int perSecond, int burst, string what)
    {
        if (perSecond <= 0)
        {
            return;
        }

        var bucket = buckets.GetOrAdd(name, _ => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(burst, perSecond),
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            AutoReplenishment = true,
            QueueLimit = 0,
        }));
        using var lease = bucket.AttemptAcquire(1);
        if (!lease.IsAcquired)
        {
            var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
            throw ApiException.RateLimited($"The request rate limit for {what} ({perSecond}/s) is exhausted.", retry);
        }
    }

    public void Dispose()
    {
        foreach (var bucket in _keys.Values.Concat(_ledgers.Values))
        {
            bucket.Dispose();
        }
    }
}

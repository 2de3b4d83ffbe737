using System.Net;
using System.Net.Http.Json;

namespace Stele.Server.Tests;

/// <summary>Token buckets per key and per ledger answer 429 <c>rate_limited</c> with Retry-After.</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task The_sixth_rapid_request_of_a_key_is_rate_limited_and_other_keys_are_not()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["RateLimits:PerKeyPerSecond"] = "5",
            ["RateLimits:PerKeyBurst"] = "5",
        });
        var first = await server.CreateKeyAsync(null, "ingest", "read");
        var second = await server.CreateKeyAsync(null, "ingest", "read");
        using var a = server.Client(first);
        using var b = server.Client(second);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await a.PostAsJsonAsync("api/v1/events", new { actor_id = "u", action = "rate.tested" });
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await Api.AssertProblemAsync(response, HttpStatusCode.TooManyRequests, "rate_limited");
                var retry = response.Headers.RetryAfter?.Delta;
                Assert.NotNull(retry);
                Assert.InRange(retry.Value.TotalSeconds, 1, 60);
            }
        }

        // Five pass (the burst), then the bucket is empty; refills are 5/s, so at most one more may slip in.
        Assert.All(statuses.Take(5), s => Assert.Equal(HttpStatusCode.Created, s));
        Assert.True(statuses.Skip(5).Count(s => s == HttpStatusCode.TooManyRequests) >= 2, string.Join(',', statuses));

        // Reads count too, and a limited request writes nothing.
        var size = await Api.LedgerSizeAsync(server);
        Assert.Equal(statuses.Count(s => s == HttpStatusCode.Created), size);

        // Another key has its own bucket.
        for (var i = 0; i < 5; i++)
        {
            using var response = await b.GetAsync("api/v1/events");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The bucket refills.
        await Task.Delay(1200);
        using var later = await a.GetAsync("api/v1/events");
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
    }

    [Fact]
    public async Task A_ledger_limit_applies_across_keys_and_leaves_other_ledgers_alone()
    {
        await using var server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["RateLimits:PerLedgerPerSecond"] = "5",
            ["RateLimits:PerLedgerBurst"] = "5",
        });
        await server.CreateLedgerAsync("hot");
        await server.CreateLedgerAsync("cold");
        using var k1 = server.Client(await server.CreateKeyAsync("hot", "ingest"));
        using var k2 = server.Client(await server.CreateKeyAsync("hot", "ingest"));
        using var cold = server.Client(await server.CreateKeyAsync("cold", "ingest"));

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await (i % 2 == 0 ? k1 : k2).PostAsJsonAsync("api/v1/events", new { actor_id = "u", action = "rate.tested" });
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await Api.AssertProblemAsync(response, HttpStatusCode.TooManyRequests, "rate_limited");
                Assert.NotNull(response.Headers.RetryAfter);
            }
        }

        Assert.All(statuses.Take(5), s => Assert.Equal(HttpStatusCode.Created, s));
        Assert.True(statuses.Skip(5).Count(s => s == HttpStatusCode.TooManyRequests) >= 2, string.Join(',', statuses));
        Assert.Equal(statuses.Count(s => s == HttpStatusCode.Created), await Api.LedgerSizeAsync(server, "hot"));

        for (var i = 0; i < 5; i++)
        {
            using var response = await cold.PostAsJsonAsync("api/v1/events", new { actor_id = "u", action = "rate.tested" });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
    }
}

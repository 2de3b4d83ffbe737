using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Stele.EndToEnd.Tests.Postgres;
using Xunit.Abstractions;

namespace Stele.EndToEnd.Tests.MultiNode;

[Collection(MultiNodeCollection.Name)]
public sealed class MultiNodeIdempotencyTests(ITestOutputHelper output)
{
    private const int Keys = 400;
    private const int InFlight = 24;

    [PostgresFact]
    public async Task The_same_idempotency_key_sent_to_two_nodes_at_once_is_stored_once()
    {
        await using var cluster = await Cluster.StartAsync(2, writeKeyFirst: true);
        using var first = cluster.Client(0);
        using var second = cluster.Client(1);
        var results = new (Answer A, Answer B)[Keys];

        // Each key goes to both nodes at the same moment; many keys are in flight together, so the
        // nodes' group commits interleave and both often look a key up before either stored it.
        await Parallel.ForEachAsync(Enumerable.Range(0, Keys), new ParallelOptions { MaxDegreeOfParallelism = InFlight }, async (k, _) =>
        {
            var body = new { actor_id = "retrying-client", action = "idempotency.test", resource_id = $"r{k}", idempotency_key = $"key-{k}" };
            var sent = await Task.WhenAll(PostAsync(first, body), PostAsync(second, body));
            results[k] = (sent[0], sent[1]);
        });

        for (var k = 0; k < Keys; k++)
        {
            var (a, b) = results[k];
            Assert.True(a.Id == b.Id && a.Seq == b.Seq, $"key-{k}: node 0 answered {a.Id}@{a.Seq}, node 1 answered {b.Id}@{b.Seq}");
            Assert.True(a.Created ^ b.Created, $"key-{k}: exactly one node must create the event (created: {a.Created}, {b.Created})");
        }

        var stored = await cluster.ReadLedgerAsync(0);
        Assert.Equal(Keys, stored.Count);
        Assert.Equal(results.Select(r => r.A.Id).Order(StringComparer.Ordinal), stored.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(Enumerable.Range(0, Keys).Select(i => (long)i), stored.Values.Order());
        var verified = await cluster.VerifyEverywhereAsync(stored.Count);
        var createdByFirst = results.Count(r => r.A.Created);
        output.WriteLine($"{Keys} keys each sent to both nodes at once: {Keys} events stored (created by node 0: {createdByFirst}, by node 1: {Keys - createdByFirst}; the other node answered duplicate); {verified}");
    }

    private static async Task<Answer> PostAsync(HttpClient http, object body)
    {
        using var response = await http.PostAsJsonAsync("api/v1/events", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        var e = JsonDocument.Parse(text).RootElement;
        return new Answer(e.GetProperty("id").GetString()!, e.GetProperty("seq").GetInt64(), response.StatusCode == HttpStatusCode.Created);
    }

    private sealed record Answer(string Id, long Seq, bool Created);
}

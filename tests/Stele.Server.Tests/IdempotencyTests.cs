using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stele.Server.Tests;

/// <summary>A repeated idempotency key returns the original event, marked duplicate, and writes nothing.</summary>
public sealed class IdempotencyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private readonly TestServer _server = fixture.Server;

    [Fact]
    public async Task The_same_body_key_returns_the_original_event_with_200_and_no_new_seq()
    {
        using var first = await _server.Admin.PostAsJsonAsync("api/v1/events", new { actor_id = "u", action = "order.paid", idempotency_key = "body-key-1" });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var original = await Api.JsonAsync(first);
        Assert.False(original.GetProperty("duplicate").GetBoolean());
        var size = await Api.LedgerSizeAsync(_server);

        // Even with a different body: the key decides.
        using var again = await _server.Admin.PostAsJsonAsync("api/v1/events", new { actor_id = "someone-else", action = "order.refunded", idempotency_key = "body-key-1" });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var repeat = await Api.JsonAsync(again);
        Assert.True(repeat.GetProperty("duplicate").GetBoolean());
        Assert.Equal(original.GetProperty("id").GetString(), repeat.GetProperty("id").GetString());
        Assert.Equal(original.GetProperty("seq").GetInt64(), repeat.GetProperty("seq").GetInt64());
        Assert.Equal("u", repeat.GetProperty("actor_id").GetString());
        Assert.Equal(original.GetProperty("leaf_hash").GetString(), repeat.GetProperty("leaf_hash").GetString());
        Assert.Equal(size, await Api.LedgerSizeAsync(_server));
        await _server.WaitForIndexesAsync();
        Assert.Single(Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/events?action=order.*")));
    }

    [Fact]
    public async Task The_idempotency_key_header_works_like_the_body_field()
    {
        async Task<HttpResponseMessage> PostAsync(string key, object body)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/events") { Content = JsonContent.Create(body) };
            request.Headers.Add("Idempotency-Key", key);
            return await _server.Admin.SendAsync(request);
        }

        using var first = await PostAsync("header-key-1", new { actor_id = "u", action = "invoice.sent" });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var original = await Api.JsonAsync(first);
        Assert.Equal("header-key-1", original.GetProperty("idempotency_key").GetString());
        var size = await Api.LedgerSizeAsync(_server);

        using var again = await PostAsync("header-key-1", new { actor_id = "u", action = "invoice.sent" });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var repeat = await Api.JsonAsync(again);
        Assert.True(repeat.GetProperty("duplicate").GetBoolean());
        Assert.Equal(original.GetProperty("id").GetString(), repeat.GetProperty("id").GetString());

        // The header and the body field share one key space.
        using var viaBody = await _server.Admin.PostAsJsonAsync("api/v1/events", new { actor_id = "u", action = "invoice.sent", idempotency_key = "header-key-1" });
        Assert.Equal(HttpStatusCode.OK, viaBody.StatusCode);
        Assert.Equal(original.GetProperty("id").GetString(), (await Api.JsonAsync(viaBody)).GetProperty("id").GetString());
        Assert.Equal(size, await Api.LedgerSizeAsync(_server));

        using var tooLong = await PostAsync(new string('k', 257), new { actor_id = "u", action = "invoice.sent" });
        await Api.AssertProblemAsync(tooLong, HttpStatusCode.BadRequest, "validation_failed");
        Assert.Equal(size, await Api.LedgerSizeAsync(_server));
    }

    [Fact]
    public async Task Inside_one_batch_a_repeated_key_is_a_duplicate_of_the_first()
    {
        var size = await Api.LedgerSizeAsync(_server);
        using var response = await _server.Admin.PostAsJsonAsync("api/v1/events/batch", new
        {
            events = new object[]
            {
                new { actor_id = "u", action = "batch.one", idempotency_key = "batch-key" },
                new { actor_id = "u", action = "batch.two" },
                new { actor_id = "u", action = "batch.three", idempotency_key = "batch-key" },
                new { actor_id = "u", action = "bad action" },
                new { actor_id = "u", action = "batch.four", idempotency_key = "batch-key-2" },
            },
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await Api.JsonAsync(response);
        var data = Api.Data(result);
        Assert.Equal(["created", "created", "duplicate", "rejected", "created"], data.Select(d => d.GetProperty("status").GetString()));
        Assert.Equal(Enumerable.Range(0, 5), data.Select(d => d.GetProperty("index").GetInt32()));
        var first = data[0].GetProperty("event");
        var dup = data[2].GetProperty("event");
        Assert.Equal(first.GetProperty("id").GetString(), dup.GetProperty("id").GetString());
        Assert.Equal(first.GetProperty("seq").GetInt64(), dup.GetProperty("seq").GetInt64());
        Assert.Equal("batch.one", dup.GetProperty("action").GetString());
        Assert.True(dup.GetProperty("duplicate").GetBoolean());
        Assert.False(first.GetProperty("duplicate").GetBoolean());
        Assert.False(data[3].TryGetProperty("event", out _));
        var summary = result.GetProperty("summary");
        Assert.Equal(3, summary.GetProperty("created").GetInt32());
        Assert.Equal(1, summary.GetProperty("duplicates").GetInt32());
        Assert.Equal(1, summary.GetProperty("rejected").GetInt32());
        Assert.Equal(size + 3, await Api.LedgerSizeAsync(_server));

        // Seqs of the created events are consecutive: the rejected and duplicate ones took none.
        var seqs = new[] { 0, 1, 4 }.Select(i => data[i].GetProperty("event").GetProperty("seq").GetInt64()).ToList();
        Assert.Equal([size, size + 1, size + 2], seqs);

        // A later batch repeating the key gets the original too.
        using var later = await _server.Admin.PostAsJsonAsync("api/v1/events/batch", new { events = new[] { new { actor_id = "u", action = "batch.again", idempotency_key = "batch-key" } } });
        var laterResult = await Api.JsonAsync(later);
        Assert.Equal("duplicate", laterResult.GetProperty("data")[0].GetProperty("status").GetString());
        Assert.Equal(first.GetProperty("id").GetString(), laterResult.GetProperty("data")[0].GetProperty("event").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Idempotency_keys_are_per_ledger()
    {
        await _server.CreateLedgerAsync("other");
        var inDefault = await Api.IngestAsync(_server.Admin, "api/v1/events", new { actor_id = "u", action = "x.y", idempotency_key = "shared-key" });
        using var inOther = await _server.Admin.PostAsJsonAsync("api/v1/ledgers/other/events", new { actor_id = "u", action = "x.y", idempotency_key = "shared-key" });
        Assert.Equal(HttpStatusCode.Created, inOther.StatusCode);
        var other = await Api.JsonAsync(inOther);
        Assert.False(other.GetProperty("duplicate").GetBoolean());
        Assert.NotEqual(inDefault.GetProperty("id").GetString(), other.GetProperty("id").GetString());
        Assert.Equal("other", other.GetProperty("ledger").GetString());

        using var repeatOther = await _server.Admin.PostAsJsonAsync("api/v1/ledgers/other/events", new { actor_id = "u", action = "x.y", idempotency_key = "shared-key" });
        Assert.Equal(HttpStatusCode.OK, repeatOther.StatusCode);
        Assert.Equal(other.GetProperty("id").GetString(), (await Api.JsonAsync(repeatOther)).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Concurrent_requests_with_one_key_create_one_event()
    {
        var size = await Api.LedgerSizeAsync(_server);
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            using var r = await _server.Admin.PostAsJsonAsync("api/v1/events", new { actor_id = "u", action = "race.won", idempotency_key = "race-key" });
            return (r.StatusCode, (await Api.JsonAsync(r)).GetProperty("id").GetString());
        }));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.Equal(19, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Single(responses.Select(r => r.Item2).Distinct());
        Assert.Equal(size + 1, await Api.LedgerSizeAsync(_server));
    }
}

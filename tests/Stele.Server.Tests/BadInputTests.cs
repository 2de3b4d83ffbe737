using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Stele.Server.Tests;

/// <summary>Bad input gets a problem+json answer with a stable code, and writes nothing.</summary>
public sealed class BadInputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Events = "api/v1/events";
    private readonly TestServer _server = fixture.Server;

    public static TheoryData<string> MalformedBodies => new()
    {
        "{",
        "{\"actor_id\":\"u\",\"action\":\"a.b\"",
        "{\"actor_id\":\"u\",}",
        "not json",
        "{'actor_id':'u','action':'a.b'}",
        "{\"actor_id\":\"u\",\"action\":\"a.b\"} trailing",
        "[",
        "\"\\u00\"",
    };

    public static TheoryData<string> NonObjectBodies => new()
    {
        "[]",
        "[{\"actor_id\":\"u\",\"action\":\"a.b\"}]",
        "\"a string\"",
        "42",
        "true",
        "null",
    };

    public static TheoryData<string, string> WrongFieldTypes => new()
    {
        { "actor_id", "42" },
        { "actor_id", "{}" },
        { "actor_name", "[]" },
        { "actor_type", "true" },
        { "action", "1.5" },
        { "action_category", "{}" },
        { "resource", "7" },
        { "resource_id", "[\"x\"]" },
        { "resource_name", "false" },
        { "targets", "{}" },
        { "targets", "\"folder\"" },
        { "targets", "[1]" },
        { "targets", "[{\"type\":5}]" },
        { "targets", "[{\"id\":\"f_1\"}]" },
        { "metadata", "[]" },
        { "metadata", "\"text\"" },
        { "metadata", "3" },
        { "occurred_at", "1700000000" },
        { "tenant_id", "1" },
        { "session_id", "{}" },
        { "ip_address", "\"not-an-ip\"" },
        { "ip_address", "127" },
        { "user_agent", "[]" },
        { "outcome", "true" },
        { "outcome", "\"ok\"" },
        { "outcome", "\"SUCCESS\"" },
        { "idempotency_key", "12" },
        { "version", "\"1\"" },
        { "version", "-1" },
        { "version", "1.5" },
        { "version", "3000000000" },
        { "version", "true" },
    };

    public static TheoryData<string> InvalidEvents => new()
    {
        // Unknown fields, at the top level and in targets.
        """{"actor_id":"u","action":"a.b","actor":"x"}""",
        """{"actor_id":"u","action":"a.b","targets":[{"type":"t","colour":"red"}]}""",
        // Missing required fields.
        """{"action":"a.b"}""",
        """{"actor_id":"u"}""",
        """{}""",
        """{"actor_id":"","action":"a.b"}""",
        // Actions that are not 'resource.verb'.
        """{"actor_id":"u","action":"document deleted"}""",
        """{"actor_id":"u","action":"document..deleted"}""",
        """{"actor_id":"u","action":".deleted"}""",
        """{"actor_id":"u","action":"document.*"}""",
        """{"actor_id":"u","action":"doc/ument"}""",
        // Times.
        """{"actor_id":"u","action":"a.b","occurred_at":"yesterday"}""",
        """{"actor_id":"u","action":"a.b","occurred_at":"2026-13-01T00:00:00Z"}""",
        """{"actor_id":"u","action":"a.b","occurred_at":"2026-01-01 00:00:00"}""",
        """{"actor_id":"u","action":"a.b","occurred_at":"2026-01-01T00:00:00"}""",
        // Control characters and lone surrogates.
        """{"actor_id":"u\u0000","action":"a.b"}""",
        """{"actor_id":"u\u001b[31m","action":"a.b"}""",
        """{"actor_id":"u","action":"a.b","resource_id":"\u0007"}""",
        """{"actor_id":"u","action":"a.b","actor_name":"Ada\u0000"}""",
        """{"actor_id":"\ud800","action":"a.b"}""",
        """{"actor_id":"u","action":"a.b","actor_name":"x\udc00y"}""",
        """{"actor_id":"u","action":"a.b","metadata":{"k":"\ud800"}}""",
        """{"actor_id":"u","action":"a.b","metadata":{"\ud800":1}}""",
        """{"actor_id":"u","action":"a.b","\ud800":1}""",
        """{"actor_id":"u","action":"a.b","\ud800\ud800\ud800":1}""",
        """{"\udc00\udc00\udc00\udc00":1,"actor_id":"u","action":"a.b"}""",
        """{"actor_id":"u","action":"a.b","targets":[{"\ud800\ud800":1,"type":"t"}]}""",
        """{"actor_id":"u","action":"a.b","targets":[{"type":"t","\udfff":1}]}""",
        """{"actor_id":"u","action":"a.b","targets":[{"type":"t","metadata":{"x":["\ud800"]}}]}""",
        """{"actor_id":"u","action":"a.b","idempotency_key":"k\u0000"}""",
        // DEL and the C1 controls are control characters too; free text allows only tab and line breaks.
        """{"actor_id":"u\u007f","action":"a.b"}""",
        """{"actor_id":"u","action":"a.b","tenant_id":"t\u009f"}""",
        """{"actor_id":"u","action":"a.b","actor_name":"Ada\u0085"}""",
        """{"actor_id":"u","action":"a.b","resource_name":"r\u000b"}""",
        // A name spelled with escapes is still unknown when it unescapes to an unknown one.
        """{"actor_id":"u","action":"a.b","actor\u005fidx":"v"}""",
        """{"actor_id":"u","action":"a.b","\u0061ctor_idx":"v"}""",
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Malformed_json_is_rejected_and_writes_nothing(string body)
    {
        await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events, body), HttpStatusCode.BadRequest, "validation_failed");
        await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events + "/batch", body), HttpStatusCode.BadRequest, "validation_failed");
    }

    [Fact]
    public async Task An_empty_body_is_rejected_and_writes_nothing()
    {
        await AssertRejectedAsync(() => Api.PostBytesAsync(_server.Admin, Events, []), HttpStatusCode.BadRequest, "validation_failed");
        await AssertRejectedAsync(() => Api.PostBytesAsync(_server.Admin, Events, [], contentType: null), HttpStatusCode.BadRequest, "validation_failed");
        await AssertRejectedAsync(() => Api.PostBytesAsync(_server.Admin, Events + "/batch", []), HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/xml")]
    [InlineData("multipart/form-data")]
    public async Task A_body_that_is_not_declared_as_json_is_rejected_and_writes_nothing(string contentType)
    {
        const string valid = """{"actor_id":"u","action":"a.b"}""";
        var problem = await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events, valid, contentType), HttpStatusCode.UnsupportedMediaType, "validation_failed");
        Assert.Contains("application/json", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events + "/batch", "{\"events\":[" + valid + "]}", contentType), HttpStatusCode.UnsupportedMediaType, "validation_failed");
    }

    [Theory]
    [MemberData(nameof(NonObjectBodies))]
    public async Task A_json_value_that_is_not_an_object_is_rejected_and_writes_nothing(string body)
    {
        await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events, body), HttpStatusCode.BadRequest, "validation_failed");
        await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events + "/batch", body), HttpStatusCode.BadRequest, "validation_failed");
    }

    [Theory]
    [MemberData(nameof(WrongFieldTypes))]
    public async Task A_field_of_the_wrong_type_is_rejected_naming_the_field_and_writes_nothing(string field, string json)
    {
        var body = field is "actor_id" or "action"
            ? $$"""{"actor_id":"u","action":"a.b","{{field}}":{{json}}}""".Replace($"\"{field}\":\"{(field == "actor_id" ? "u" : "a.b")}\",", string.Empty, StringComparison.Ordinal)
            : $$"""{"actor_id":"u","action":"a.b","{{field}}":{{json}}}""";
        var problem = await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events, body), HttpStatusCode.BadRequest, "validation_failed");
        var fields = problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("field").GetString()!).ToList();
        Assert.Contains(fields, f => f.StartsWith(field, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(InvalidEvents))]
    public async Task An_invalid_event_is_rejected_and_writes_nothing(string body)
    {
        var problem = await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events, body), HttpStatusCode.BadRequest, "validation_failed");
        Assert.NotEmpty(problem.GetProperty("errors").EnumerateArray());

        // In a batch the same event is rejected on its own, and nothing is written either.
        var before = await Api.LedgerSizeAsync(_server);
        using var batch = await Api.PostRawAsync(_server.Admin, Events + "/batch", "{\"events\":[" + body + "]}");
        var result = await Api.JsonAsync(batch);
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        Assert.Equal("rejected", result.GetProperty("data")[0].GetProperty("status").GetString());
        Assert.Equal("validation_failed", result.GetProperty("data")[0].GetProperty("error").GetProperty("error").GetString());
        Assert.Equal(1, result.GetProperty("summary").GetProperty("rejected").GetInt32());
        Assert.Equal(before, await Api.LedgerSizeAsync(_server));
    }

    [Fact]
    public async Task Invalid_utf8_bytes_in_the_body_are_rejected_and_write_nothing()
    {
        byte[][] bodies =
        [
            [.. "{\"actor_id\":\"u"u8, 0xff, 0xfe, .. "\",\"action\":\"a.b\"}"u8],
            [.. "{\"actor_id\":\"u\",\"action\":\"a.b\",\"actor_name\":\""u8, 0xc3, 0x28, .. "\"}"u8],
            [.. "{\"actor_id\":\"u\",\"action\":\"a.b\",\"metadata\":{\"k\":\""u8, 0xed, 0xa0, 0x80, .. "\"}}"u8],
            [.. "{\"actor_id\":\"u\",\"action\":\"a.b\",\"metadata\":{\""u8, 0x80, .. "\":1}}"u8],
            [.. "{\"actor_id\":\"u\",\"action\":\"a.b\",\""u8, 0xc0, 0xaf, .. "\":1}"u8],
            [0xef, 0xbb, 0xbf, 0xff, .. "{}"u8],
        ];
        foreach (var body in bodies)
        {
            await AssertRejectedAsync(() => Api.PostBytesAsync(_server.Admin, Events, body), HttpStatusCode.BadRequest, "validation_failed");
        }
    }

    [Fact]
    public async Task Metadata_may_hold_50_keys_but_not_51()
    {
        await AssertRejectedAsync(() => _server.Admin.PostAsJsonAsync(Events, new { actor_id = "u", action = "a.b", metadata = Keys(51) }), HttpStatusCode.BadRequest, "validation_failed");
        await Api.IngestAsync(_server.Admin, Events, new { actor_id = "u", action = "a.b", metadata = Keys(50) });

        static Dictionary<string, int> Keys(int count) => Enumerable.Range(0, count).ToDictionary(i => $"k{i}", i => i);
    }

    [Fact]
    public async Task Metadata_may_be_nested_16_levels_deep_but_not_17()
    {
        await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events, Event(Nested(17))), HttpStatusCode.BadRequest, "validation_failed");
        await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events, Event(NestedArrays(17))), HttpStatusCode.BadRequest, "validation_failed");
        using var ok = await Api.PostRawAsync(_server.Admin, Events, Event(Nested(16)));
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);

        // Far deeper than any limit: still a clean validation error, not a parser crash.
        await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events, Event(Nested(500))), HttpStatusCode.BadRequest, "validation_failed");

        static string Event(string metadata) => $$"""{"actor_id":"u","action":"a.b","metadata":{{metadata}}}""";
        static string Nested(int depth) => depth == 1 ? "{\"leaf\":1}" : "{\"a\":" + Nested(depth - 1) + "}";
        static string NestedArrays(int depth) => "{\"a\":" + new string('[', depth - 1) + "1" + new string(']', depth - 1) + "}";
    }

    [Fact]
    public async Task An_event_may_have_100_targets_but_not_101()
    {
        await AssertRejectedAsync(() => _server.Admin.PostAsJsonAsync(Events, new { actor_id = "u", action = "a.b", targets = Targets(101) }), HttpStatusCode.BadRequest, "validation_failed");
        await Api.IngestAsync(_server.Admin, Events, new { actor_id = "u", action = "a.b", targets = Targets(100) });

        static object[] Targets(int count) => Enumerable.Range(0, count).Select(i => new { type = "file", id = $"f{i}" }).ToArray<object>();
    }

    [Fact]
    public async Task Occurred_at_more_than_five_minutes_ahead_is_rejected()
    {
        var tooFar = DateTimeOffset.UtcNow.AddMinutes(6).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        await AssertRejectedAsync(() => _server.Admin.PostAsJsonAsync(Events, new { actor_id = "u", action = "a.b", occurred_at = tooFar }), HttpStatusCode.BadRequest, "validation_failed");
        var wayTooFar = "2999-01-01T00:00:00Z";
        await AssertRejectedAsync(() => _server.Admin.PostAsJsonAsync(Events, new { actor_id = "u", action = "a.b", occurred_at = wayTooFar }), HttpStatusCode.BadRequest, "validation_failed");

        var nearFuture = DateTimeOffset.UtcNow.AddMinutes(3).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var created = await Api.IngestAsync(_server.Admin, Events, new { actor_id = "u", action = "a.b", occurred_at = nearFuture });
        Assert.StartsWith(nearFuture[..19], created.GetProperty("occurred_at").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Identifiers_may_be_256_characters_but_not_257()
    {
        foreach (var field in new[] { "actor_id", "resource_id", "tenant_id", "session_id", "idempotency_key", "action_category" })
        {
            var body = new Dictionary<string, object> { ["actor_id"] = "u", ["action"] = "a.b", [field] = new string('x', 257) };
            await AssertRejectedAsync(() => _server.Admin.PostAsJsonAsync(Events, body), HttpStatusCode.BadRequest, "validation_failed");
        }

        var ok = await Api.IngestAsync(_server.Admin, Events, new { actor_id = new string('x', 256), action = "a.b" });
        Assert.Equal(256, ok.GetProperty("actor_id").GetString()!.Length);
    }

    [Fact]
    public async Task An_event_over_64_KiB_is_a_validation_error_not_a_size_error()
    {
        var big = new { actor_id = "u", action = "a.b", metadata = new { blob = new string('x', 65 * 1024) } };
        await AssertRejectedAsync(() => _server.Admin.PostAsJsonAsync(Events, big), HttpStatusCode.BadRequest, "validation_failed");
        var bigger = new { actor_id = "u", action = "a.b", metadata = new { a = new string('x', 60 * 1024), b = new string('y', 60 * 1024) } };
        await AssertRejectedAsync(() => _server.Admin.PostAsJsonAsync(Events, bigger), HttpStatusCode.BadRequest, "validation_failed");

        // In a batch an oversized event is rejected on its own; its neighbour is written.
        var before = await Api.LedgerSizeAsync(_server);
        using var batch = await _server.Admin.PostAsJsonAsync(Events + "/batch", new { events = new object[] { big, new { actor_id = "u", action = "a.b" } } });
        var result = await Api.JsonAsync(batch);
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        Assert.Equal("rejected", result.GetProperty("data")[0].GetProperty("status").GetString());
        Assert.Equal("created", result.GetProperty("data")[1].GetProperty("status").GetString());
        Assert.Equal(before + 1, await Api.LedgerSizeAsync(_server));
    }

    [Fact]
    public async Task A_body_over_5_MiB_is_payload_too_large_and_writes_nothing()
    {
        var events = Enumerable.Range(0, 90).Select(i => new { actor_id = "u", action = "a.b", metadata = new { blob = new string('x', 60 * 1024) } }).ToArray();
        await AssertRejectedAsync(() => _server.Admin.PostAsJsonAsync(Events + "/batch", new { events }), HttpStatusCode.RequestEntityTooLarge, "payload_too_large");

        // Without a Content-Length (chunked), the limit still holds.
        var json = JsonSerializer.SerializeToUtf8Bytes(new { events });
        await AssertRejectedAsync(() =>
        {
            var content = new StreamContent(new MemoryStream(json));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            var request = new HttpRequestMessage(HttpMethod.Post, Events + "/batch") { Content = content };
            request.Headers.TransferEncodingChunked = true;
            return _server.Admin.SendAsync(request);
        }, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");

        // A single event body over 5 MiB likewise.
        await AssertRejectedAsync(() => _server.Admin.PostAsJsonAsync(Events, new { actor_id = "u", action = "a.b", metadata = new { blob = new string('x', 6 * 1024 * 1024) } }), HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
    }

    [Fact]
    public async Task A_batch_of_more_than_1000_events_or_none_is_rejected_as_a_whole()
    {
        var events = Enumerable.Range(0, 1001).Select(i => new { actor_id = "u", action = "a.b" }).ToArray();
        await AssertRejectedAsync(() => _server.Admin.PostAsJsonAsync(Events + "/batch", new { events }), HttpStatusCode.BadRequest, "validation_failed");
        await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events + "/batch", """{"events":[]}"""), HttpStatusCode.BadRequest, "validation_failed");
        await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events + "/batch", """{"events":{}}"""), HttpStatusCode.BadRequest, "validation_failed");
        await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events + "/batch", """{"items":[{"actor_id":"u","action":"a.b"}]}"""), HttpStatusCode.BadRequest, "validation_failed");
        await AssertRejectedAsync(() => Api.PostRawAsync(_server.Admin, Events + "/batch", """{"events":[{"actor_id":"u","action":"a.b"}],"extra":1}"""), HttpStatusCode.BadRequest, "validation_failed");

        using var ok = await _server.Admin.PostAsJsonAsync(Events + "/batch", new { events = events[..1000] });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(1000, (await Api.JsonAsync(ok)).GetProperty("summary").GetProperty("created").GetInt32());
    }

    [Fact]
    public async Task Sql_metacharacters_are_data_and_read_back_verbatim()
    {
        const string hostile = "'; DROP TABLE events; --";
        const string more = "x\" OR 1=1 -- %_*[?]\\ ' \"; DELETE FROM api_keys;";
        var created = await Api.IngestAsync(_server.Admin, Events, new
        {
            actor_id = hostile,
            actor_name = more,
            action = "sql.injection",
            resource_id = more,
            tenant_id = "t'1",
            metadata = new Dictionary<string, string> { [hostile] = more },
            targets = new[] { new { type = "t'; --", id = hostile } },
        });
        var id = created.GetProperty("id").GetString();
        var read = await Api.GetJsonAsync(_server.Admin, $"{Events}/{id}");
        Assert.Equal(hostile, read.GetProperty("actor_id").GetString());
        Assert.Equal(more, read.GetProperty("actor_name").GetString());
        Assert.Equal(more, read.GetProperty("resource_id").GetString());
        Assert.Equal(more, read.GetProperty("metadata").GetProperty(hostile).GetString());
        Assert.Equal(hostile, read.GetProperty("targets")[0].GetProperty("id").GetString());

        await _server.WaitForIndexesAsync();
        var byActor = Api.Data(await Api.GetJsonAsync(_server.Admin, $"{Events}?actor_id={Uri.EscapeDataString(hostile)}"));
        Assert.Equal(id, Assert.Single(byActor).GetProperty("id").GetString());
        var byTenant = Api.Data(await Api.GetJsonAsync(_server.Admin, $"{Events}?tenant_id={Uri.EscapeDataString("t'1")}"));
        Assert.Single(byTenant);

        // Still a working database with every table in place.
        Assert.True((await Api.GetJsonAsync(_server.Admin, "api/v1/keys")).GetProperty("data").GetArrayLength() >= 1);
    }

    [Fact]
    public async Task Requests_without_a_usable_api_key_are_unauthenticated_with_a_bearer_challenge()
    {
        var revoked = await _server.CreateKeyAsync(null, "ingest", "read");
        using (var revoke = await _server.Admin.DeleteAsync($"api/v1/keys/{Api.KeyId(revoked)}"))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        // Measured after the revocation (which _system records): from here on nothing may be written anywhere.
        var defaultBefore = await Api.LedgerSizeAsync(_server);
        var systemBefore = await Api.LedgerSizeAsync(_server, "_system");
        var unknown = "stele_abcdefghijkl_" + new string('A', 43);
        var wrongSecret = _server.AdminKey[..^4] + (_server.AdminKey.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        var headers = new (string? Scheme, string? Value)[]
        {
            (null, null),
            ("Basic", Convert.ToBase64String(Encoding.ASCII.GetBytes("admin:" + _server.AdminKey))),
            ("Token", _server.AdminKey),
            ("Bearer", "not-a-key"),
            ("Bearer", "stele_"),
            ("Bearer", _server.AdminKey + "x"),
            ("Bearer", _server.AdminKey.ToUpperInvariant()),
            ("Bearer", unknown),
            ("Bearer", wrongSecret),
            ("Bearer", revoked),
        };
        foreach (var (scheme, value) in headers)
        {
            using var client = _server.Client();
            if (scheme is not null)
            {
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(scheme, value);
            }

            foreach (var request in new Func<Task<HttpResponseMessage>>[]
            {
                () => client.PostAsJsonAsync(Events, new { actor_id = "u", action = "a.b" }),
                () => client.GetAsync(Events),
                () => client.GetAsync("api/v1/ledgers"),
                () => client.GetAsync("api/v1/keys"),
                () => client.GetAsync("tlog/default/checkpoint"),
            })
            {
                using var response = await request();
                await Api.AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
                Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
            }
        }

        Assert.Equal(defaultBefore, await Api.LedgerSizeAsync(_server));
        Assert.Equal(systemBefore, await Api.LedgerSizeAsync(_server, "_system"));
    }

    [Fact]
    public async Task Admin_bodies_with_bad_field_names_or_bytes_are_rejected_and_change_nothing()
    {
        var keysBefore = (await Api.GetJsonAsync(_server.Admin, "api/v1/keys")).GetProperty("data").GetArrayLength();
        var ledgersBefore = (await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers")).GetProperty("data").GetArrayLength();
        var systemBefore = await Api.LedgerSizeAsync(_server, "_system");
        string[] keyBodies =
        [
            """{"\ud800\ud800\ud800\ud800":1,"name":"k","permissions":["read"]}""",
            """{"name":"k","permissions":["read"],"\udfff\udfff\udfff\udfff\udfff":1}""",
            """{"name":"\ud800","permissions":["read"]}""",
            """{"name":"k\u0000","permissions":["read"]}""",
            """{"name":"k","permissions":["read","root"]}""",
            """{"name":"k","permissions":[]}""",
            """{"name":"k","permissions":"read"}""",
            """{"name":"k","permissions":["read"],"ledger":"no-such-ledger"}""",
            """[]""",
        ];
        foreach (var body in keyBodies)
        {
            using var response = await Api.PostRawAsync(_server.Admin, "api/v1/keys", body);
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, body + " → " + (int)response.StatusCode);
            await Api.AssertProblemAsync(response, response.StatusCode, response.StatusCode == HttpStatusCode.NotFound ? "not_found" : "validation_failed");
        }

        string[] ledgerBodies =
        [
            """{"\ud800\ud800\ud800\ud800":1,"name":"fine"}""",
            """{"name":"fine","description":"\ud800"}""",
            """{"name":"fine","owner":"x"}""",
            """{"name":"Fine"}""",
            """{"name":"-fine"}""",
            """{"name":"_system"}""",
            """{"name":"fine name"}""",
            """{}""",
        ];
        foreach (var body in ledgerBodies)
        {
            await Api.AssertProblemAsync(Api.PostRawAsync(_server.Admin, "api/v1/ledgers", body), HttpStatusCode.BadRequest, "validation_failed");
        }

        await Api.AssertProblemAsync(Api.PostBytesAsync(_server.Admin, "api/v1/keys", [.. "{\"name\":\""u8, 0xff, .. "\",\"permissions\":[\"read\"]}"u8]), HttpStatusCode.BadRequest, "validation_failed");
        Assert.Equal(keysBefore, (await Api.GetJsonAsync(_server.Admin, "api/v1/keys")).GetProperty("data").GetArrayLength());
        Assert.Equal(ledgersBefore, (await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers")).GetProperty("data").GetArrayLength());
        Assert.Equal(systemBefore, await Api.LedgerSizeAsync(_server, "_system"));
    }

    [Fact]
    public async Task Unknown_routes_and_methods_answer_problem_json()
    {
        await Api.AssertProblemAsync(_server.Admin.GetAsync("api/v1/nothing-here"), HttpStatusCode.NotFound, "not_found");
        await Api.AssertProblemAsync(_server.Admin.DeleteAsync(Events), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }

    private async Task<int> CountAsync(string actor, string action, string tenant)
    {
        await _server.WaitForIndexesAsync();
        return Api.Data(await Api.GetJsonAsync(_server.Admin, $"{Events}?actor_id={actor}&action={action}&tenant_id={tenant}")).Count;
    }

    /// <summary>Sends the request, asserts the problem, and asserts that the default ledger did not grow.</summary>
    private async Task<JsonElement> AssertRejectedAsync(Func<Task<HttpResponseMessage>> send, HttpStatusCode status, string code)
    {
        var before = await Api.LedgerSizeAsync(_server);
        using var response = await send();
        var problem = await Api.AssertProblemAsync(response, status, code);
        Assert.Equal(before, await Api.LedgerSizeAsync(_server));
        return problem;
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Stele.Server.Tests.Enrichment;

/// <summary>
/// GeoIP enrichment and client addresses through a real server (Kestrel on 127.0.0.1) with the
/// GeoIP2 City test database and 127.0.0.2 as its one trusted proxy: clients connect from
/// 127.0.0.1 (untrusted) or, with their socket bound to it, from 127.0.0.2 (the proxy).
/// </summary>
public sealed class GeoIpServerTests(GeoIpServerTests.Fixture fixture) : IClassFixture<GeoIpServerTests.Fixture>
{
    private const string Events = "api/v1/events";
    private const string Proxy = "127.0.0.2";
    private readonly TestServer _server = fixture.Server;

    public sealed class Fixture : IAsyncLifetime
    {
        public TestServer Server { get; private set; } = null!;

        public async Task InitializeAsync() => Server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["GeoIp:DatabasePath"] = MaxMindTestData.TestDatabasePath("GeoIP2-City-Test"),
            ["TrustedProxies"] = Proxy,
        });

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    [Theory]
    [InlineData("81.2.69.142", "GB", "London")]
    [InlineData("::ffff:89.160.20.112", "SE", "Linköping")]
    [InlineData("2001:218::1", "JP", null)]
    [InlineData("1.1.1.1", null, null)]
    [InlineData("10.0.0.1", null, null)]
    public async Task An_event_from_a_client_origin_key_is_located_by_the_address_in_its_body(string ip, string? country, string? city)
    {
        using var client = _server.Client(await _server.CreateKeyAsync(null, "ingest", "read", "client_origin"));
        var created = await Api.IngestAsync(client, Events, new { actor_id = "u_1", action = "user.login", ip_address = ip, user_agent = "Browser/1.0" });

        var stored = await Api.GetJsonAsync(client, $"{Events}/{created.GetProperty("id").GetString()}");
        foreach (var e in new[] { created, stored })
        {
            Assert.Equal(IPAddress.Parse(ip).ToString(), e.GetProperty("ip_address").GetString());
            Assert.Equal("Browser/1.0", e.GetProperty("user_agent").GetString());
            Assert.Equal(country, e.GetProperty("ip_country").GetString());
            Assert.Equal(city, e.GetProperty("ip_city").GetString());
        }
    }

    [Fact]
    public async Task Events_are_found_by_the_country_they_were_located_in()
    {
        using var client = _server.Client(await _server.CreateKeyAsync(null, "ingest", "read", "client_origin"));
        var london = (await Api.IngestAsync(client, Events, new { actor_id = "u_2", action = "user.login", ip_address = "81.2.69.160" })).GetProperty("id").GetString();
        var milton = (await Api.IngestAsync(client, Events, new { actor_id = "u_2", action = "user.login", ip_address = "216.160.83.56" })).GetProperty("id").GetString();

        await _server.WaitForIndexesAsync();
        var gb = Ids(await Api.GetJsonAsync(client, $"{Events}?ip_country=GB&actor_id=u_2"));
        var us = Ids(await Api.GetJsonAsync(client, $"{Events}?ip_country=US&actor_id=u_2"));
        var se = Ids(await Api.GetJsonAsync(client, $"{Events}?ip_country=SE&actor_id=u_2"));
        Assert.Equal([london], gb);
        Assert.Equal([milton], us);
        Assert.Empty(se);
    }

    [Fact]
    public async Task An_event_from_the_loopback_connection_has_its_address_and_no_location()
    {
        using var client = _server.Client(await _server.CreateKeyAsync(null, "ingest", "read"));
        var created = await Api.IngestAsync(client, Events, new { actor_id = "u_3", action = "user.login" });
        var stored = await Api.GetJsonAsync(client, $"{Events}/{created.GetProperty("id").GetString()}");

        Assert.Equal("127.0.0.1", stored.GetProperty("ip_address").GetString());
        Assert.Equal(JsonValueKind.Null, stored.GetProperty("ip_country").ValueKind);
        Assert.Equal(JsonValueKind.Null, stored.GetProperty("ip_city").ValueKind);
    }

    [Theory]
    [InlineData("ip_address", "\"81.2.69.142\"")]
    [InlineData("user_agent", "\"Browser/1.0\"")]
    [InlineData("ip_address", "\"not an address\"")]
    public async Task An_ingest_only_key_that_passes_the_end_users_origin_is_refused_and_nothing_is_written(string field, string value)
    {
        using var client = _server.Client(await _server.CreateKeyAsync(null, "ingest"));
        var before = await Api.LedgerSizeAsync(_server);

        var problem = await Api.AssertProblemAsync(
            Api.PostRawAsync(client, Events, $$"""{"actor_id":"u_4","action":"user.login","{{field}}":{{value}}}"""),
            HttpStatusCode.Forbidden, "forbidden");
        Assert.Contains($"'{field}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("client_origin", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(field, problem.GetProperty("errors")[0].GetProperty("field").GetString());
        Assert.Equal(before, await Api.LedgerSizeAsync(_server));
    }

    [Fact]
    public async Task In_a_batch_only_the_event_that_passes_an_origin_is_refused()
    {
        using var client = _server.Client(await _server.CreateKeyAsync(null, "ingest"));
        var before = await Api.LedgerSizeAsync(_server);

        using var response = await client.PostAsJsonAsync(Events + "/batch", new
        {
            events = new object[]
            {
                new { actor_id = "u_5", action = "user.login" },
                new { actor_id = "u_5", action = "user.login", ip_address = "81.2.69.142" },
                new { actor_id = "u_5", action = "user.logout" },
            },
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await Api.JsonAsync(response);
        var results = Api.Data(body);
        Assert.Equal(["created", "rejected", "created"], results.Select(r => r.GetProperty("status").GetString()));
        var error = results[1].GetProperty("error");
        Assert.Equal("forbidden", error.GetProperty("error").GetString());
        Assert.Equal(403, error.GetProperty("status").GetInt32());
        Assert.Equal("events[1].ip_address", error.GetProperty("errors")[0].GetProperty("field").GetString());
        Assert.Equal(1, body.GetProperty("summary").GetProperty("rejected").GetInt32());
        Assert.Equal(before + 2, await Api.LedgerSizeAsync(_server));
    }

    [Fact]
    public async Task A_null_origin_from_an_ingest_only_key_means_the_requests_own()
    {
        using var client = _server.Client(await _server.CreateKeyAsync(null, "ingest"));
        using var response = await Api.PostRawAsync(client, Events, """{"actor_id":"u_6","action":"user.login","ip_address":null,"user_agent":null}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("127.0.0.1", (await Api.JsonAsync(response)).GetProperty("ip_address").GetString());
    }

    [Fact]
    public async Task An_admin_key_may_pass_the_end_users_origin()
    {
        var created = await Api.IngestAsync(_server.Admin, Events, new { actor_id = "u_7", action = "user.login", ip_address = "89.160.20.112" });
        Assert.Equal("SE", created.GetProperty("ip_country").GetString());
        Assert.Equal("Linköping", created.GetProperty("ip_city").GetString());
    }

    [Theory]
    [InlineData("ip_country", "\"FR\"")]
    [InlineData("ip_city", "\"Paris\"")]
    public async Task A_body_cannot_set_the_location_which_only_the_server_adds(string field, string value)
    {
        using var client = _server.Client(await _server.CreateKeyAsync(null, "ingest", "client_origin"));
        var before = await Api.LedgerSizeAsync(_server);
        var problem = await Api.AssertProblemAsync(
            Api.PostRawAsync(client, Events, $$"""{"actor_id":"u_8","action":"user.login","ip_address":"81.2.69.142","{{field}}":{{value}}}"""),
            HttpStatusCode.BadRequest, "validation_failed");
        Assert.Equal(field, problem.GetProperty("errors")[0].GetProperty("field").GetString());
        Assert.Equal(before, await Api.LedgerSizeAsync(_server));
    }

    [Fact]
    public async Task X_Forwarded_For_from_the_trusted_proxy_names_the_client()
    {
        using var client = ClientFrom(Proxy, await _server.CreateKeyAsync(null, "ingest"));
        using var request = new HttpRequestMessage(HttpMethod.Post, Events) { Content = JsonContent.Create(new { actor_id = "u_9", action = "user.login" }) };
        // A client may prepend anything; the proxy appended the address it saw.
        request.Headers.Add("X-Forwarded-For", "6.6.6.6, 81.2.69.142");
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await Api.JsonAsync(response);
        Assert.Equal("81.2.69.142", created.GetProperty("ip_address").GetString());
        Assert.Equal("GB", created.GetProperty("ip_country").GetString());
        Assert.Equal("London", created.GetProperty("ip_city").GetString());
    }

    [Fact]
    public async Task X_Forwarded_For_from_any_other_connection_is_ignored()
    {
        using var client = _server.Client(await _server.CreateKeyAsync(null, "ingest"));
        using var request = new HttpRequestMessage(HttpMethod.Post, Events) { Content = JsonContent.Create(new { actor_id = "u_10", action = "user.login" }) };
        request.Headers.Add("X-Forwarded-For", "81.2.69.142");
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await Api.JsonAsync(response);
        Assert.Equal("127.0.0.1", created.GetProperty("ip_address").GetString());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("ip_country").ValueKind);
    }

    [Fact]
    public async Task Administrative_actions_through_the_proxy_are_recorded_with_the_clients_location()
    {
        using var client = ClientFrom(Proxy, _server.AdminKey);
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/keys") { Content = JsonContent.Create(new { name = "from London", permissions = new[] { "client_origin" } }) };
        request.Headers.Add("X-Forwarded-For", "81.2.69.142");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var keyId = (await Api.JsonAsync(response)).GetProperty("id").GetString();

        await _server.WaitForIndexesAsync("_system");
        var audit = Api.Data(await Api.GetJsonAsync(_server.Admin, "api/v1/ledgers/_system/events?action=api_key.created&limit=1000"))
            .Single(e => e.GetProperty("resource_id").GetString() == keyId);
        Assert.Equal("81.2.69.142", audit.GetProperty("ip_address").GetString());
        Assert.Equal("GB", audit.GetProperty("ip_country").GetString());
        Assert.Equal("London", audit.GetProperty("ip_city").GetString());
    }

    private HttpClient ClientFrom(string localAddress, string apiKey)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var client = new HttpClient(handler) { BaseAddress = _server.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    private static List<string?> Ids(JsonElement page) => Api.Data(page).Select(e => e.GetProperty("id").GetString()).ToList();
}

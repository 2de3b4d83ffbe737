using Stele.Server.Tests.Enrichment;
using static Stele.Server.Tests.Alerts.AlertTestServer;

namespace Stele.Server.Tests.Alerts;

/// <summary>
/// <c>new_country</c> through the whole server: events from a key that passes end users'
/// addresses are located with the GeoIP2 City test database, and the rule alerts when an actor
/// shows up from a second country.
/// </summary>
public sealed class NewCountryEndToEndTests
{
    [Fact]
    public async Task An_actor_located_in_a_new_country_raises_one_alert_delivered_to_its_webhook()
    {
        await using var receiver = await AlertReceiver.StartAsync();
        await using var server = await AlertTestServer.StartAsync(new() { ["GeoIp:DatabasePath"] = MaxMindTestData.TestDatabasePath("GeoIP2-City-Test") });
        var hook = await CreateAsync(server.Admin, "api/v1/alert-destinations", new { type = "webhook", url = receiver.Url.AbsoluteUri });
        await CreateAsync(server.Admin, "api/v1/alert-rules", new { type = "new_country", name = "New country", destinations = new[] { hook.GetProperty("id").GetString() } });
        using var app = server.Client(await server.CreateKeyAsync(null, "ingest", "client_origin"));

        // London twice (the first teaches), a private address (no country), then Linköping.
        await Api.IngestAsync(app, "api/v1/events", new { actor_id = "u_9", action = "user.login", ip_address = "81.2.69.142" });
        await Api.IngestAsync(app, "api/v1/events", new { actor_id = "u_9", action = "user.login", ip_address = "81.2.69.160" });
        await Api.IngestAsync(app, "api/v1/events", new { actor_id = "u_9", action = "user.login", ip_address = "10.1.2.3" });
        var sweden = await Api.IngestAsync(app, "api/v1/events", new { actor_id = "u_9", action = "user.login", ip_address = "89.160.20.112" });
        await Api.IngestAsync(app, "api/v1/events", new { actor_id = "u_9", action = "user.login", ip_address = "89.160.20.112" });

        var alert = Assert.Single(await WaitForAlertsAsync(server.Admin, 1, "?type=new_country"));
        Assert.Equal("Actor u_9 acted from SE for the first time", alert.GetProperty("reason").GetString());
        Assert.Equal(sweden.GetProperty("id").GetString(), alert.GetProperty("event_id").GetString());
        Assert.Equal("GB", alert.GetProperty("details").GetProperty("known_countries")[0].GetString());
        await receiver.WaitForAsync(1);

        await Task.Delay(500);
        Assert.Single(Api.Data(await Api.GetJsonAsync(server.Admin, "api/v1/alerts")));
        Assert.Single(receiver.Requests);
    }
}

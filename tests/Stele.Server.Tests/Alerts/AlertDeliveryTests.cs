using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Stele.Server.Delivery;
using Stele.Server.Tests.Delivery;
using static Stele.Server.Tests.Alerts.AlertTestServer;

namespace Stele.Server.Tests.Alerts;

/// <summary>
/// Alerts delivered through the outbox to real receivers: a signed webhook checked by the
/// reference verifier, a receiver that is down and comes back, Retry-After, 410 Gone, rotation,
/// email through a real SMTP server, and restarts that lose nothing and send nothing twice.
/// </summary>
public sealed class AlertDeliveryTests
{
    private static async Task<(string RuleId, string DestinationId, string Secret)> WireAsync(TestServer server, Uri url, int threshold = 2)
    {
        var hook = await CreateAsync(server.Admin, "api/v1/alert-destinations", new { type = "webhook", url = url.AbsoluteUri });
        var rule = await CreateAsync(server.Admin, "api/v1/alert-rules", new
        {
            type = "repeated_action",
            name = "Exports",
            parameters = new { actions = new[] { "invoice.exported" }, threshold, window_seconds = 3600, cooldown_seconds = 0 },
            destinations = new[] { hook.GetProperty("id").GetString() },
        });
        return (rule.GetProperty("id").GetString()!, hook.GetProperty("id").GetString()!, hook.GetProperty("secret").GetString()!);
    }

    private static Task RaiseAsync(TestServer server, int events = 2, string actor = "u_9") =>
        Api.IngestAsync(server.Admin, "api/v1/events/batch", new { events = Enumerable.Range(0, events).Select(_ => new { actor_id = actor, action = "invoice.exported" }) });

    [DeliveryFact(DeliveryDependency.StandardWebhooksVerifier)]
    public async Task An_alert_reaches_its_webhook_signed_as_Standard_Webhooks_requires()
    {
        await using var receiver = await AlertReceiver.StartAsync();
        await using var server = await AlertTestServer.StartAsync();
        var (ruleId, _, secret) = await WireAsync(server, receiver.Url);
        await RaiseAsync(server);

        var request = Assert.Single(await receiver.WaitForAsync(1));
        var (verified, output) = await ReferenceVerifier.VerifyAsync(secret, request);
        Assert.True(verified, output);
        Assert.StartsWith("msg_", request.Headers["webhook-id"], StringComparison.Ordinal);
        Assert.Equal("application/json", request.Headers["content-type"].Split(';')[0]);

        var body = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal("alert.raised", body.GetProperty("type").GetString());
        var data = body.GetProperty("data");
        Assert.Equal(ruleId, data.GetProperty("rule_id").GetString());
        Assert.Equal("default", data.GetProperty("ledger").GetString());
        Assert.Equal("Actor u_9 performed invoice.exported 2 times within 1 hour", data.GetProperty("reason").GetString());

        var alert = await WaitForDeliveryAsync(server.Admin, data.GetProperty("id").GetString()!, "delivered");
        var delivery = alert.GetProperty("deliveries")[0];
        Assert.Equal(request.Headers["webhook-id"], delivery.GetProperty("id").GetString());
        var log = Assert.Single(delivery.GetProperty("log").EnumerateArray());
        Assert.Equal("delivered", log.GetProperty("outcome").GetString());
        Assert.Equal(200, log.GetProperty("status_code").GetInt32());

        // A tampered body does not verify with the same headers.
        var forged = request with { Body = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(request.Body).Replace("u_9", "u_8", StringComparison.Ordinal)) };
        Assert.False((await ReferenceVerifier.VerifyAsync(secret, forged)).Verified);
    }

    [Fact]
    public async Task A_receiver_that_is_down_gets_the_alert_once_it_is_back()
    {
        var port = AlertReceiver.FreePort();
        await using var server = await AlertTestServer.StartAsync();
        var (_, _, secret) = await WireAsync(server, new Uri($"http://127.0.0.1:{port}/hooks/stele"));
        await RaiseAsync(server);
        var alertId = (await WaitForAlertsAsync(server.Admin, 1))[0].GetProperty("id").GetString()!;

        // Nobody listens: attempts fail and are retried with backoff, each in the delivery log.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        JsonElement alert;
        do
        {
            await Task.Delay(100);
            alert = await Api.GetJsonAsync(server.Admin, $"api/v1/alerts/{alertId}");
        }
        while (alert.GetProperty("deliveries")[0].GetProperty("attempts").GetInt32() < 2 && DateTime.UtcNow < deadline);
        var pending = alert.GetProperty("deliveries")[0];
        Assert.Equal("pending", pending.GetProperty("state").GetString());
        Assert.All(pending.GetProperty("log").EnumerateArray(), a => Assert.Equal("retry", a.GetProperty("outcome").GetString()));

        await using var receiver = await AlertReceiver.StartAsync(port);
        var delivered = await WaitForDeliveryAsync(server.Admin, alertId, "delivered");
        var request = Assert.Single(receiver.Requests);
        Assert.True(StandardWebhookSignature.Verify(
            request.Headers["webhook-id"], request.Headers["webhook-timestamp"], request.Body, request.Headers["webhook-signature"], Parse(secret), DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));
        Assert.Equal(delivered.GetProperty("deliveries")[0].GetProperty("attempts").GetInt32(), delivered.GetProperty("deliveries")[0].GetProperty("log").GetArrayLength());
        Assert.Single(Api.Data(await Api.GetJsonAsync(server.Admin, "api/v1/alerts")));
    }

    [Fact]
    public async Task Retry_After_is_honoured()
    {
        await using var receiver = await AlertReceiver.StartAsync();
        receiver.Status = 503;
        receiver.RetryAfter = "2";
        await using var server = await AlertTestServer.StartAsync();
        await WireAsync(server, receiver.Url);
        await RaiseAsync(server);

        await receiver.WaitForAsync(1);
        var firstAt = DateTime.UtcNow;
        receiver.Status = 200;
        receiver.RetryAfter = null;
        await receiver.WaitForAsync(2);
        var waited = DateTime.UtcNow - firstAt;

        // The retry policy alone would retry within 0.2 s here; the receiver asked for 2 s.
        Assert.True(waited >= TimeSpan.FromSeconds(1.8), $"retried after {waited.TotalSeconds:0.00} s");
        var requests = receiver.Requests;
        Assert.Equal(requests[0].Headers["webhook-id"], requests[1].Headers["webhook-id"]);
    }

    [Fact]
    public async Task A_410_Gone_disables_the_destination_and_later_alerts_are_not_sent_to_it()
    {
        await using var receiver = await AlertReceiver.StartAsync();
        receiver.Status = 410;
        await using var server = await AlertTestServer.StartAsync();
        var (_, destinationId, _) = await WireAsync(server, receiver.Url);
        await RaiseAsync(server);
        var alertId = (await WaitForAlertsAsync(server.Admin, 1))[0].GetProperty("id").GetString()!;

        var failed = await WaitForDeliveryAsync(server.Admin, alertId, "failed");
        Assert.Equal("gone", failed.GetProperty("deliveries")[0].GetProperty("log")[0].GetProperty("outcome").GetString());
        var destination = await Api.GetJsonAsync(server.Admin, $"api/v1/alert-destinations/{destinationId}");
        Assert.False(destination.GetProperty("enabled").GetBoolean());
        Assert.Contains("410", destination.GetProperty("disabled_reason").GetString(), StringComparison.Ordinal);

        await RaiseAsync(server, actor: "u_10");
        var second = (await WaitForAlertsAsync(server.Admin, 2))[0].GetProperty("id").GetString()!;
        var skipped = await WaitForDeliveryAsync(server.Admin, second, "failed");
        Assert.Contains("disabled", skipped.GetProperty("deliveries")[0].GetProperty("last_error").GetString(), StringComparison.Ordinal);
        Assert.Single(receiver.Requests);

        // Re-enabled by an administrator, it receives again.
        receiver.Status = 204;
        using (var patch = await server.Admin.PatchAsJsonAsync($"api/v1/alert-destinations/{destinationId}", new { enabled = true }))
        {
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        }

        await RaiseAsync(server, actor: "u_11");
        var third = (await WaitForAlertsAsync(server.Admin, 3))[0].GetProperty("id").GetString()!;
        await WaitForDeliveryAsync(server.Admin, third, "delivered");
        Assert.Equal(2, receiver.Requests.Count);
    }

    [DeliveryFact(DeliveryDependency.StandardWebhooksVerifier)]
    public async Task During_a_rotation_each_delivery_is_signed_with_the_old_and_the_new_secret()
    {
        await using var receiver = await AlertReceiver.StartAsync();
        await using var server = await AlertTestServer.StartAsync();
        var (_, destinationId, oldSecret) = await WireAsync(server, receiver.Url);
        using var rotate = await server.Admin.PostAsync($"api/v1/alert-destinations/{destinationId}/rotate-secret", null);
        var newSecret = (await Api.JsonAsync(rotate)).GetProperty("secret").GetString()!;

        await RaiseAsync(server);
        var request = Assert.Single(await receiver.WaitForAsync(1));
        Assert.Equal(2, request.Headers["webhook-signature"].Split(' ').Length);
        Assert.True((await ReferenceVerifier.VerifyAsync(oldSecret, request)).Verified);
        Assert.True((await ReferenceVerifier.VerifyAsync(newSecret, request)).Verified);

        // With no overlap the old secret stops signing at once.
        using var again = await server.Admin.PostAsJsonAsync($"api/v1/alert-destinations/{destinationId}/rotate-secret", new { overlap_seconds = 0 });
        var third = (await Api.JsonAsync(again)).GetProperty("secret").GetString()!;
        await RaiseAsync(server, actor: "u_2");
        var next = (await receiver.WaitForAsync(2))[1];
        Assert.Single(next.Headers["webhook-signature"].Split(' '));
        Assert.True((await ReferenceVerifier.VerifyAsync(third, next)).Verified);
        Assert.False((await ReferenceVerifier.VerifyAsync(newSecret, next)).Verified);
    }

    [DeliveryFact(DeliveryDependency.SmtpServer)]
    public async Task An_alert_reaches_email_recipients_through_a_real_SMTP_server()
    {
        await using var smtp = await SmtpTestServer.StartAsync();
        await using var server = await AlertTestServer.StartAsync(new()
        {
            ["Smtp:Host"] = "127.0.0.1",
            ["Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Smtp:From"] = "Stele <alerts@stele.example>",
            ["Smtp:Security"] = "None",
        });
        var mail = await CreateAsync(server.Admin, "api/v1/alert-destinations", new { type = "email", recipients = new[] { "soc@example.com", "oncall@example.org" } });
        await CreateAsync(server.Admin, "api/v1/alert-rules", new
        {
            type = "off_hours",
            name = "Weekend activity",
            parameters = new { time_zone = "Europe/Berlin" },
            destinations = new[] { mail.GetProperty("id").GetString() },
        });
        await Api.IngestAsync(server.Admin, "api/v1/events", new { actor_id = "u_9", action = "document.deleted", occurred_at = "2026-11-28T12:00:00Z" });
        var alertId = (await WaitForAlertsAsync(server.Admin, 1))[0].GetProperty("id").GetString()!;
        await WaitForDeliveryAsync(server.Admin, alertId, "delivered");

        var message = Assert.Single(smtp.Messages());
        Assert.Equal(["soc@example.com", "oncall@example.org"], message.GetProperty("rcpt_tos").EnumerateArray().Select(r => r.GetString()));
        var subject = message.GetProperty("headers").GetProperty("Subject").GetString()!;
        Assert.StartsWith("[Stele] Weekend activity: Actor u_9 performed document.deleted at 13:00 on Saturday 2026-11-28", subject, StringComparison.Ordinal);
        var text = message.GetProperty("body").GetString()!;
        Assert.Contains(alertId, text, StringComparison.Ordinal);
        Assert.Contains("/proof", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rule_state_and_undelivered_alerts_survive_a_restart()
    {
        var port = AlertReceiver.FreePort();
        await using var server = await AlertTestServer.StartAsync();
        await WireAsync(server, new Uri($"http://127.0.0.1:{port}/hooks/stele"), threshold: 3);

        // Two of three events, then a restart: the third still completes the count.
        await RaiseAsync(server, events: 2);
        await Task.Delay(500);
        Assert.Empty(Api.Data(await Api.GetJsonAsync(server.Admin, "api/v1/alerts")));
        await server.RestartAsync();
        await RaiseAsync(server, events: 1);
        var alertId = (await WaitForAlertsAsync(server.Admin, 1))[0].GetProperty("id").GetString()!;

        // The receiver is down across another restart; once it is up the alert arrives, once.
        await Task.Delay(500);
        await server.RestartAsync();
        await using var receiver = await AlertReceiver.StartAsync(port);
        await WaitForDeliveryAsync(server.Admin, alertId, "delivered");
        Assert.Single(receiver.Requests);
        Assert.Single(Api.Data(await Api.GetJsonAsync(server.Admin, "api/v1/alerts")));

        // Nothing is re-evaluated or re-sent after yet another restart.
        await server.RestartAsync();
        await Task.Delay(800);
        Assert.Single(receiver.Requests);
        Assert.Single(Api.Data(await Api.GetJsonAsync(server.Admin, "api/v1/alerts")));
    }

    private static IReadOnlyList<WebhookSecret> Parse(string secret)
    {
        Assert.True(WebhookSecret.TryParse(secret, out var parsed, out var error), error);
        return [parsed!];
    }
}

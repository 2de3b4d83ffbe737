using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stele.EndToEnd.Tests.Alerts;

/// <summary>
/// The server process is killed (SIGKILL) while it delivers an alert: after a restart the alert
/// is delivered, there is exactly one alert record, and every request carried the same
/// <c>webhook-id</c>, so a receiver that dedupes on it sees the alert once.
/// </summary>
public sealed class AlertCrashTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "stele-e2e-alerts-" + Guid.NewGuid().ToString("N"));

    private static readonly Dictionary<string, string> FastDelivery = new()
    {
        ["STELE_ALERTS__POLLINTERVAL"] = "00:00:00.100",
        ["STELE_ALERTS__DELIVERYPOLLINTERVAL"] = "00:00:00.100",
        ["STELE_ALERTS__DELIVERYBASEDELAY"] = "00:00:00.200",
        ["STELE_ALERTS__DELIVERYMAXDELAY"] = "00:00:01",
    };

    [Fact]
    public async Task A_server_killed_mid_delivery_delivers_after_restart_with_one_alert_record()
    {
        using var receiver = new LoopbackReceiver(answer: null);
        string adminKey;
        using (var first = await ServerProcess.StartAsync(_dataDirectory, environment: FastDelivery))
        {
            adminKey = first.AdminKey!;
            using var client = Client(first, adminKey);
            var hook = await PostAsync(client, "api/v1/alert-destinations", new { type = "webhook", url = receiver.Url });
            await PostAsync(client, "api/v1/alert-rules", new
            {
                type = "high_volume_destructive",
                parameters = new { threshold = 3, window_seconds = 60 },
                destinations = new[] { hook.GetProperty("id").GetString() },
            });
            await PostAsync(client, "api/v1/events/batch", new { events = Enumerable.Range(0, 3).Select(i => new { actor_id = "u_9", action = $"doc{i}.deleted" }) });

            // The receiver holds the first request open; the server dies while it waits for the answer.
            await receiver.FirstRequest.WaitAsync(TimeSpan.FromSeconds(30));
            first.Kill();
        }

        receiver.Answer = HttpStatusCode.OK;
        using var second = await ServerProcess.StartAsync(_dataDirectory, environment: FastDelivery);
        using var again = Client(second, adminKey);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement alerts;
        while (true)
        {
            alerts = JsonDocument.Parse(await again.GetStringAsync("api/v1/alerts")).RootElement.Clone();
            var data = alerts.GetProperty("data");
            if (data.GetArrayLength() == 1)
            {
                var alert = JsonDocument.Parse(await again.GetStringAsync($"api/v1/alerts/{data[0].GetProperty("id").GetString()}")).RootElement;
                if (alert.GetProperty("deliveries")[0].GetProperty("state").GetString() == "delivered")
                {
                    break;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, "the alert was not delivered after the restart: " + alerts);
            await Task.Delay(100);
        }

        Assert.Equal(1, alerts.GetProperty("data").GetArrayLength());
        var requests = receiver.Requests.ToList();
        Assert.True(requests.Count >= 2, $"{requests.Count} request(s)");
        Assert.Single(requests.Select(r => r.WebhookId).Distinct(StringComparer.Ordinal));
        Assert.Single(requests.Select(r => r.Body).Distinct(StringComparer.Ordinal));
    }

    private static HttpClient Client(ServerProcess server, string key)
    {
        var client = new HttpClient { BaseAddress = server.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static async Task<JsonElement> PostAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}

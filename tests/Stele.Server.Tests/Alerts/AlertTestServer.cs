using System.Net.Http.Json;
using System.Text.Json;

namespace Stele.Server.Tests.Alerts;

/// <summary>Settings and calls the detection tests share: fast polling and retries, rule and destination helpers.</summary>
internal static class AlertTestServer
{
    public static Dictionary<string, string?> FastSettings(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Alerts:PollInterval"] = "00:00:00.100",
            ["Alerts:DeliveryPollInterval"] = "00:00:00.100",
            ["Alerts:DeliveryBaseDelay"] = "00:00:00.200",
            ["Alerts:DeliveryMaxDelay"] = "00:00:01",
            ["Alerts:TamperCheckInterval"] = "00:10:00",
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    public static Task<TestServer> StartAsync(Dictionary<string, string?>? more = null) => TestServer.StartAsync(FastSettings(more));

    public static async Task<JsonElement> CreateAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Waits until GET /alerts (with <paramref name="query"/>) lists at least <paramref name="count"/> alerts, and returns them.</summary>
    public static async Task<List<JsonElement>> WaitForAlertsAsync(HttpClient client, int count, string query = "", string prefix = "api/v1/")
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var alerts = Api.Data(await Api.GetJsonAsync(client, prefix + "alerts" + query));
            if (alerts.Count >= count)
            {
                return alerts;
            }

            Assert.True(DateTime.UtcNow < deadline, $"expected {count} alert(s), got {alerts.Count}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until every delivery of the alert reached <paramref name="state"/>, and returns the alert with its log.</summary>
    public static async Task<JsonElement> WaitForDeliveryAsync(HttpClient client, string alertId, string state, string prefix = "api/v1/")
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var alert = await Api.GetJsonAsync(client, $"{prefix}alerts/{alertId}");
            var deliveries = alert.GetProperty("deliveries").EnumerateArray().ToList();
            if (deliveries.Count > 0 && deliveries.All(d => d.GetProperty("state").GetString() == state))
            {
                return alert;
            }

            Assert.True(DateTime.UtcNow < deadline, $"deliveries of {alertId} did not all reach '{state}': {alert}");
            await Task.Delay(50);
        }
    }
}

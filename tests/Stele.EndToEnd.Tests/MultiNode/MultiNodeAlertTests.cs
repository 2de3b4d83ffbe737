using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Stele.EndToEnd.Tests.Alerts;
using Stele.EndToEnd.Tests.Postgres;
using Xunit.Abstractions;

namespace Stele.EndToEnd.Tests.MultiNode;

/// <summary>
/// Two nodes on one PostgreSQL database evaluate and deliver together: every event is evaluated
/// once (the cursor is compare-and-set), each alert is stored once, and each alert reaches the
/// receiver once (deliveries are claimed under a lease).
/// </summary>
[Collection(MultiNodeCollection.Name)]
public sealed class MultiNodeAlertTests(ITestOutputHelper output)
{
    private const int Events = 200;

    [PostgresFact]
    public async Task Two_nodes_raise_and_deliver_each_alert_exactly_once()
    {
        using var receiver = new LoopbackReceiver(HttpStatusCode.OK);
        await using var cluster = await Cluster.StartAsync(2, writeKeyFirst: true, _ => new Dictionary<string, string>
        {
            ["STELE_ALERTS__POLLINTERVAL"] = "00:00:00.100",
            ["STELE_ALERTS__DELIVERYPOLLINTERVAL"] = "00:00:00.100",
        });
        using var first = cluster.Client(0);
        using var second = cluster.Client(1);
        var hook = await PostAsync(first, "api/v1/alert-destinations", new { type = "webhook", url = receiver.Url });
        await PostAsync(second, "api/v1/alert-rules", new
        {
            type = "high_volume_destructive",
            parameters = new { threshold = 1, cooldown_seconds = 0 },
            destinations = new[] { hook.GetProperty("id").GetString() },
        });

        // Every deletion raises one alert; half the events go to each node, interleaved.
        await Parallel.ForEachAsync(Enumerable.Range(0, Events), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            await PostAsync(i % 2 == 0 ? first : second, "api/v1/events", new { actor_id = $"u_{i}", action = "document.deleted" }));

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (receiver.Requests.Count < Events)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{receiver.Requests.Count} of {Events} alerts delivered");
            await Task.Delay(100);
        }

        await Task.Delay(1000);
        var alerts = await ListAlertsAsync(first);
        Assert.Equal(Events, alerts.Count);
        Assert.Equal(Events, alerts.Select(a => a.GetProperty("event_id").GetString()).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(Events, alerts.Select(a => a.GetProperty("actor_id").GetString()).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(alerts.Select(a => a.GetProperty("id").GetString()).Order(StringComparer.Ordinal), (await ListAlertsAsync(second)).Select(a => a.GetProperty("id").GetString()).Order(StringComparer.Ordinal));

        var requests = receiver.Requests.ToList();
        Assert.Equal(Events, requests.Count);
        Assert.Equal(Events, requests.Select(r => r.WebhookId).Distinct(StringComparer.Ordinal).Count());
        output.WriteLine($"{Events} events over two nodes: {alerts.Count} alerts stored, {requests.Count} webhook requests with {requests.Select(r => r.WebhookId).Distinct(StringComparer.Ordinal).Count()} distinct ids");
    }

    private static async Task<List<JsonElement>> ListAlertsAsync(HttpClient client)
    {
        var all = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var page = JsonDocument.Parse(await client.GetStringAsync("api/v1/alerts?limit=100" + (cursor is null ? string.Empty : "&cursor=" + cursor))).RootElement.Clone();
            all.AddRange(page.GetProperty("data").EnumerateArray());
            var next = page.GetProperty("pagination").GetProperty("next_cursor");
            cursor = next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null);
        return all;
    }

    private static async Task<JsonElement> PostAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}

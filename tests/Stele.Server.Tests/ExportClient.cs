using System.Net;
using System.Text.Json;

namespace Stele.Server.Tests;

/// <summary>Creates an export through the API, waits for it, and downloads it.</summary>
internal static class ExportClient
{
    public static async Task<string> CreateAsync(HttpClient client, string prefix, string body)
    {
        using var response = await client.PostAsync(prefix + "exports", TestServer.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    public static async Task<JsonElement> WaitAsync(HttpClient client, string prefix, string id, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var status = JsonDocument.Parse(await client.GetStringAsync($"{prefix}exports/{id}")).RootElement.Clone();
            var state = status.GetProperty("state").GetString();
            if (state == "succeeded")
            {
                return status;
            }

            Assert.True(state != "failed", status.ToString());
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Export {id} is still {state}.");
            }

            await Task.Delay(50);
        }
    }

    public static async Task<byte[]> ExportAsync(HttpClient client, string prefix, string body)
    {
        var id = await CreateAsync(client, prefix, body);
        await WaitAsync(client, prefix, id);
        return await client.GetByteArrayAsync($"{prefix}exports/{id}/download");
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Stele.Server.Tests;

/// <summary>Small HTTP helpers shared by the API tests: JSON reading, problem assertions, ledger sizes.</summary>
internal static class Api
{
    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    public static async Task<JsonElement> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Asserts an RFC 9457 problem with the given status and stable error code, and returns its body.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal(code, problem.GetProperty("error").GetString());
        Assert.Equal("https://stele.dev/problems/" + code, problem.GetProperty("type").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        return problem;
    }

    public static async Task<JsonElement> AssertProblemAsync(Task<HttpResponseMessage> request, HttpStatusCode status, string code)
    {
        using var response = await request;
        return await AssertProblemAsync(response, status, code);
    }

    /// <summary>Posts one event and returns the created (or duplicate) event.</summary>
    public static async Task<JsonElement> IngestAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static Task<HttpResponseMessage> PostRawAsync(HttpClient client, string path, string json, string contentType = "application/json") =>
        client.PostAsync(path, new StringContent(json, Encoding.UTF8, contentType));

    public static Task<HttpResponseMessage> PostBytesAsync(HttpClient client, string path, byte[] body, string? contentType = "application/json")
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }

        return client.PostAsync(path, content);
    }

    /// <summary>The ledger's size as the admin API reports it.</summary>
    public static async Task<long> LedgerSizeAsync(TestServer server, string ledger = "default") =>
        (await GetJsonAsync(server.Admin, $"api/v1/ledgers/{ledger}")).GetProperty("size").GetInt64();

    public static List<JsonElement> Data(JsonElement page) => page.GetProperty("data").EnumerateArray().ToList();

    /// <summary>The key id of an API key secret: <c>key_</c> plus its 12-character lookup prefix.</summary>
    public static string KeyId(string secret) => "key_" + secret.Substring("stele_".Length, 12);
}

using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Stele.Server.Hosting;

namespace Stele.Server.Tests;

/// <summary>
/// A real Stele server on Kestrel at 127.0.0.1 (a free port) over a fresh SQLite data directory,
/// plus HTTP clients for it. Dispose deletes the directory unless told to keep it.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private SteleHost _host;
    private readonly Dictionary<string, string?> _settings;

    private readonly Action<ILoggingBuilder>? _logging;

    private TestServer(SteleHost host, string dataDirectory, Dictionary<string, string?> settings, Action<ILoggingBuilder>? logging)
    {
        _host = host;
        DataDirectory = dataDirectory;
        _settings = settings;
        _logging = logging;
        AdminKey = host.BootstrapAdminKey ?? throw new InvalidOperationException("A fresh server must print a bootstrap key.");
        BaseAddress = new Uri(host.Addresses.First().TrimEnd('/') + "/");
        Admin = Client(AdminKey);
    }

    public string DataDirectory { get; }

    public string DatabasePath => Path.Combine(DataDirectory, "stele.db");

    public string AdminKey { get; }

    public Uri BaseAddress { get; private set; }

    public HttpClient Admin { get; private set; }

    public SteleHost Host => _host;

    /// <summary>Starts a server; <paramref name="logging"/> replaces the default (warnings and above, nowhere).</summary>
    public static async Task<TestServer> StartAsync(IDictionary<string, string?>? settings = null, Action<ILoggingBuilder>? logging = null)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "stele-tests", Guid.NewGuid().ToString("N"));
        var all = new Dictionary<string, string?>
        {
            ["DataDirectory"] = dataDirectory,
            ["Listen"] = "http://127.0.0.1:0",
            ["InstanceName"] = "test.stele",
            ["CheckpointInterval"] = "00:00:00.200",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var host = await StartHostAsync(all, logging).ConfigureAwait(false);
        return new TestServer(host, dataDirectory, all, logging);
    }

    private static async Task<SteleHost> StartHostAsync(Dictionary<string, string?> settings, Action<ILoggingBuilder>? logging)
    {
        var host = SteleHost.Create(settings, logging: logging ?? (l => l.SetMinimumLevel(LogLevel.Warning)));
        await host.StartAsync().ConfigureAwait(false);
        return host;
    }

    /// <summary>Stops the server and starts it again on the same data directory.</summary>
    public async Task RestartAsync()
    {
        await _host.DisposeAsync().ConfigureAwait(false);
        _host = await StartHostAsync(_settings, _logging).ConfigureAwait(false);
        BaseAddress = new Uri(_host.Addresses.First().TrimEnd('/') + "/");
        Admin.Dispose();
        Admin = Client(AdminKey);
    }

    public async Task StopAsync() => await _host.DisposeAsync().ConfigureAwait(false);

    public HttpClient Client(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <summary>Creates an API key through the API and returns its secret.</summary>
    public async Task<string> CreateKeyAsync(string? ledger, params string[] permissions)
    {
        using var response = await Admin.PostAsJsonAsync("api/v1/keys", new { name = "test key", ledger, permissions }).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("key").GetString()!;
    }

    public async Task CreateLedgerAsync(string name)
    {
        using var response = await Admin.PostAsJsonAsync("api/v1/ledgers", new { name }).ConfigureAwait(false);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync().ConfigureAwait(false));
    }

    /// <summary>
    /// Waits until the query indexes of the ledgers cover every event they hold (GET /events with
    /// filters is answered from them, and they are maintained behind ingestion).
    /// </summary>
    public async Task WaitForIndexesAsync(params string[] ledgers)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (var ledger in ledgers.Length == 0 ? ["default"] : ledgers)
        {
            while (true)
            {
                var json = await Api.GetJsonAsync(Admin, $"api/v1/ledgers/{ledger}").ConfigureAwait(false);
                var size = json.GetProperty("size").GetInt64();
                var indexed = json.GetProperty("indexed_through_seq");
                if (size == 0 || (indexed.ValueKind == JsonValueKind.Number && indexed.GetInt64() == size - 1))
                {
                    break;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"The indexes of ledger {ledger} did not reach its {size} events within 30 s.");
                }

                await Task.Delay(20).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Ingests events 0 to <paramref name="count"/> - 1 of the default ledger, made by <paramref name="make"/>,
    /// through <c>POST /events/batch</c> in batches of <paramref name="batchSize"/>, and waits for a
    /// signed checkpoint covering them.
    /// </summary>
    public async Task IngestAsync(int count, int batchSize, Func<int, object> make)
    {
        for (var first = 0; first < count; first += batchSize)
        {
            var events = Enumerable.Range(first, Math.Min(batchSize, count - first)).Select(make);
            using var response = await Admin.PostAsJsonAsync("api/v1/events/batch", new { events }).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
        }

        await WaitForCheckpointAsync(Admin, "api/v1/", count).ConfigureAwait(false);
    }

    /// <summary>Waits until the ledger has a signed checkpoint of at least <paramref name="size"/>.</summary>
    public async Task<JsonElement> WaitForCheckpointAsync(HttpClient client, string ledgerPrefix, long size)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            using var response = await client.GetAsync(ledgerPrefix + "checkpoint").ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false)).RootElement.Clone();
                if (json.GetProperty("tree_size").GetInt64() >= size)
                {
                    return json;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No checkpoint of size {size} within 10 s.");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await _host.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the temp directory is cleaned by the OS otherwise.
        }
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}

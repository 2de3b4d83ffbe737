using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Stele.Core.Checkpoints;
using Stele.Core.Notes;
using Stele.EndToEnd.Tests.Postgres;

namespace Stele.EndToEnd.Tests.MultiNode;

/// <summary>
/// Several <c>stele serve</c> processes on one fresh PostgreSQL database, each with its own data
/// directory, all with one signing key file. Nodes can be killed (SIGKILL) and started again.
/// </summary>
internal sealed class Cluster : IAsyncDisposable
{
    public const string InstanceName = "e2e.stele";
    public const string Ledger = "default";

    private readonly string _root;
    private readonly ServerProcess?[] _nodes;

    private readonly IReadOnlyDictionary<string, string>? _environment;

    private Cluster(PostgresDatabase database, string root, int size, IReadOnlyDictionary<string, string>? environment)
    {
        _environment = environment;
        Database = database;
        _root = root;
        _nodes = new ServerProcess?[size];
        KeyFile = Path.Combine(root, "shared", "signing.key");
    }

    public PostgresDatabase Database { get; }

    /// <summary>The one signing key file every node is given.</summary>
    public string KeyFile { get; }

    public string AdminKey { get; private set; } = string.Empty;

    /// <summary>How many nodes printed a bootstrap admin key at first start (exactly one must).</summary>
    public int AdminKeysPrinted { get; private set; }

    public int Size => _nodes.Length;

    /// <summary>
    /// Starts <paramref name="size"/> nodes at once on an empty database. With
    /// <paramref name="writeKeyFirst"/> the shared key file is written before; otherwise it does not
    /// exist yet and the nodes, starting together, must all end up with the one that was created first.
    /// <paramref name="environment"/> gives extra settings for every node from the cluster's root directory.
    /// </summary>
    public static async Task<Cluster> StartAsync(int size, bool writeKeyFirst, Func<string, IReadOnlyDictionary<string, string>>? environment = null)
    {
        var database = await PostgresDatabase.CreateAsync();
        var root = Path.Combine(Path.GetTempPath(), "stele-e2e-multinode", Guid.NewGuid().ToString("N"));
        var cluster = new Cluster(database, root, size, environment?.Invoke(root));
        try
        {
            if (writeKeyFirst)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(cluster.KeyFile)!);
                await File.WriteAllTextAsync(cluster.KeyFile, NoteKeys.Generate(InstanceName).Format() + "\n");
            }

            await Task.WhenAll(Enumerable.Range(0, size).Select(cluster.StartNodeAsync));
            var keys = cluster._nodes.Select(n => n!.AdminKey).Where(k => k is not null).ToList();
            cluster.AdminKeysPrinted = keys.Count;
            cluster.AdminKey = keys.FirstOrDefault() ?? throw new InvalidOperationException(
                "No node printed the bootstrap admin key:\n" + string.Join("\n---\n", cluster._nodes.Select(n => n!.Output)));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public ServerProcess Node(int index) => _nodes[index] ?? throw new InvalidOperationException($"Node {index} is not running.");

    public async Task StartNodeAsync(int index)
    {
        _nodes[index]?.Dispose();
        _nodes[index] = null;
        var dataDirectory = Path.Combine(_root, $"node{index}");
        _nodes[index] = await ServerProcess.StartAsync(dataDirectory, store: Database.ConnectionString, signingKeyFile: KeyFile, environment: _environment);
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill(int index) => _nodes[index]?.Kill();

    public HttpClient Client(int index)
    {
        var http = new HttpClient { BaseAddress = Node(index).Address, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        return http;
    }

    /// <summary>Every event of the default ledger as one node lists it (GET /events, all pages): id → seq.</summary>
    public async Task<Dictionary<string, long>> ReadLedgerAsync(int index)
    {
        using var http = Client(index);
        var stored = new Dictionary<string, long>(StringComparer.Ordinal);
        string? cursor = null;
        do
        {
            var page = JsonDocument.Parse(await http.GetStringAsync("api/v1/events?limit=1000" + (cursor is null ? string.Empty : "&cursor=" + cursor))).RootElement;
            foreach (var e in page.GetProperty("data").EnumerateArray())
            {
                Assert.True(stored.TryAdd(e.GetProperty("id").GetString()!, e.GetProperty("seq").GetInt64()), "An event id is listed twice.");
            }

            cursor = page.GetProperty("pagination").GetProperty("next_cursor").GetString();
        }
        while (cursor is not null);

        return stored;
    }

    /// <summary>
    /// Every event of the default ledger matching <paramref name="filter"/> as one node finds it through
    /// the query indexes, once they cover all <paramref name="size"/> events (any node may have indexed them).
    /// </summary>
    public async Task<Dictionary<string, long>> ReadIndexedAsync(int index, string filter, long size)
    {
        using var http = Client(index);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var reach = JsonDocument.Parse(await http.GetStringAsync("api/v1/ledgers/default")).RootElement.GetProperty("indexed_through_seq");
            if (reach.ValueKind == JsonValueKind.Number && reach.GetInt64() == size - 1)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The indexes did not reach seq {size - 1} within 60 s.");
            await Task.Delay(100);
        }

        var found = new Dictionary<string, long>(StringComparer.Ordinal);
        string? cursor = null;
        do
        {
            var page = JsonDocument.Parse(await http.GetStringAsync($"api/v1/events?{filter}&limit=1000" + (cursor is null ? string.Empty : "&cursor=" + cursor))).RootElement;
            foreach (var e in page.GetProperty("data").EnumerateArray())
            {
                Assert.True(found.TryAdd(e.GetProperty("id").GetString()!, e.GetProperty("seq").GetInt64()), "An event is found twice through the indexes.");
            }

            cursor = page.GetProperty("pagination").GetProperty("next_cursor").GetString();
        }
        while (cursor is not null);

        return found;
    }

    /// <summary>
    /// Waits until the latest signed checkpoint covers all <paramref name="size"/> events, then
    /// checks it offline with the shared key, and GET /verify on every running node.
    /// </summary>
    public async Task<string> VerifyEverywhereAsync(long size)
    {
        var verifierKey = NoteSignerKey.Parse((await File.ReadAllTextAsync(KeyFile)).Trim()).VerifierKey;
        var running = Enumerable.Range(0, Size).Where(i => _nodes[i] is not null).ToList();

        using (var http = Client(running[0]))
        {
            var deadline = DateTime.UtcNow.AddSeconds(15);
            JsonElement checkpoint = default;
            while (DateTime.UtcNow < deadline)
            {
                using var response = await http.GetAsync("api/v1/checkpoint");
                if (response.IsSuccessStatusCode)
                {
                    checkpoint = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                    if (checkpoint.GetProperty("tree_size").GetInt64() == size)
                    {
                        break;
                    }
                }

                await Task.Delay(200);
            }

            Assert.True(checkpoint.ValueKind == JsonValueKind.Object && checkpoint.GetProperty("tree_size").GetInt64() == size, $"No checkpoint of size {size} was signed: {checkpoint}");

            // Offline, with the shared verifier key: the signature, the origin, the size and the root.
            var opened = new CheckpointVerifier(verifierKey).Open(Encoding.UTF8.GetBytes(checkpoint.GetProperty("signed_note").GetString()!), $"{InstanceName}/{Ledger}");
            Assert.Equal(size, opened.Size);
            Assert.Equal(checkpoint.GetProperty("root_hash").GetString(), Convert.ToHexStringLower(opened.RootHash));
        }

        var summary = new StringBuilder();
        foreach (var index in running)
        {
            using var http = Client(index);
            Assert.Equal(verifierKey.Format(), (await http.GetStringAsync("api/v1/public-key")).Trim());
            var report = JsonDocument.Parse(await http.GetStringAsync("api/v1/verify")).RootElement;
            Assert.True(report.GetProperty("valid").GetBoolean(), $"node {index}: {report}");
            Assert.Equal(size, report.GetProperty("events_checked").GetInt64());
            Assert.True(report.GetProperty("checkpoints_checked").GetInt32() > 0, $"node {index} checked no checkpoint: {report}");
            summary.Append($"node {index}: valid, {report.GetProperty("events_checked").GetInt64()} events, {report.GetProperty("checkpoints_checked").GetInt32()} checkpoints; ");
        }

        return summary.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            node?.Dispose();
        }

        await Database.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
        }
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Stele.EndToEnd.Tests.Postgres;
using Xunit.Abstractions;

namespace Stele.EndToEnd.Tests.MultiNode;

[Collection(MultiNodeCollection.Name)]
public sealed class MultiNodeExportTests(ITestOutputHelper output)
{
    private const int Events = 300;
    private const int Exports = 8;

    [PostgresFact]
    public async Task Each_export_runs_on_exactly_one_node_and_downloads_the_same_from_every_node()
    {
        await using var cluster = await Cluster.StartAsync(3, writeKeyFirst: true, root => new Dictionary<string, string>
        {
            ["STELE_EXPORTDIRECTORY"] = Path.Combine(root, "shared", "exports"),
        });
        using var ingest = cluster.Client(0);
        var events = Enumerable.Range(0, Events).Select(i => new { actor_id = $"u{i % 5}", action = i % 2 == 0 ? "doc.deleted" : "doc.created" }).ToList();
        using (var response = await ingest.PostAsJsonAsync("api/v1/events/batch", new { events }))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        // Every node polls the same queue; the jobs are created through different nodes.
        var ids = new List<string>();
        for (var i = 0; i < Exports; i++)
        {
            using var http = cluster.Client(i % cluster.Size);
            var body = i % 2 == 0 ? new { format = "csv", action = "doc.deleted" } : (object)new { format = "jsonl", actor_id = "u1" };
            using var response = await http.PostAsJsonAsync("api/v1/exports", body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
            ids.Add(JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!);
        }

        foreach (var id in ids)
        {
            await WaitSucceededAsync(cluster, id);
        }

        // Exactly one node started each job (the claim is one atomic step on the database).
        foreach (var id in ids)
        {
            var starters = Enumerable.Range(0, cluster.Size).Where(n => cluster.Node(n).Output.Contains($"Export {id} of ledger", StringComparison.Ordinal)).ToList();
            Assert.True(starters.Count == 1, $"{id} was started by nodes [{string.Join(", ", starters)}]");
        }

        // Any node serves any job's file from the shared directory: the same bytes everywhere.
        foreach (var id in ids)
        {
            var digests = new HashSet<string>(StringComparer.Ordinal);
            for (var n = 0; n < cluster.Size; n++)
            {
                using var http = cluster.Client(n);
                digests.Add(Convert.ToHexStringLower(SHA256.HashData(await http.GetByteArrayAsync($"api/v1/exports/{id}/download"))));
            }

            Assert.Single(digests);
        }

        var perNode = Enumerable.Range(0, cluster.Size)
            .Select(n => ids.Count(id => cluster.Node(n).Output.Contains($"Export {id} of ledger", StringComparison.Ordinal)));
        output.WriteLine($"{Exports} exports on 3 nodes: each started once (per node: {string.Join(", ", perNode)}); every node served identical files");
    }

    private static async Task WaitSucceededAsync(Cluster cluster, string id)
    {
        using var http = cluster.Client(0);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var status = JsonDocument.Parse(await http.GetStringAsync($"api/v1/exports/{id}")).RootElement;
            var state = status.GetProperty("state").GetString();
            if (state == "succeeded")
            {
                return;
            }

            Assert.True(state is "queued" or "running" && DateTime.UtcNow < deadline, $"{id}: {status}");
            await Task.Delay(200);
        }
    }
}

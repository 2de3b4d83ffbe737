using System.Net.Http.Json;
using System.Text;
using Stele.Core.Notes;

namespace Stele.Server.Tests;

/// <summary>One server with 50 events (some with payloads erased of nothing, all genuine) and a proof bundle exported from it.</summary>
public sealed class ExportBundleFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public string[] Lines { get; private set; } = [];

    public byte[] GzipBundle { get; private set; } = [];

    public NoteVerifierKey VerifierKey { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await TestServer.StartAsync();
        var events = Enumerable.Range(0, 50).Select(i => new
        {
            actor_id = $"user_{i}",
            actor_name = $"User {i}",
            action = i % 2 == 0 ? "document.deleted" : "user.login",
            resource_name = $"Doc {i}",
            metadata = new { n = i, text = "ü \"quoted\"" },
            targets = new[] { new { type = "folder", id = $"f_{i}", name = "Reports" } },
        }).ToArray();
        using (var response = await Server.Admin.PostAsJsonAsync("api/v1/events/batch", new { events }))
        {
            response.EnsureSuccessStatusCode();
        }

        var bytes = await ExportClient.ExportAsync(Server.Admin, "api/v1/", """{"format":"jsonl","include_proofs":true}""");
        Lines = Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        GzipBundle = await ExportClient.ExportAsync(Server.Admin, "api/v1/", """{"format":"jsonl","include_proofs":true,"gzip":true,"action":"document.*"}""");
        VerifierKey = NoteVerifierKey.Parse((await Server.Client().GetStringAsync("api/v1/public-key")).Trim());
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Stele.Server.Tests;

/// <summary>
/// Group commit (DESIGN.md, Storage): concurrent requests to one ledger share transactions, and each
/// request is answered only after the transaction holding its event has committed. Commits are
/// counted from the sequencer's own log event (1002, one per committed group).
/// </summary>
public sealed class GroupCommitTests(ITestOutputHelper output)
{
    private const int CommittedEventId = 1002;
    private const int Requests = 100;

    [Fact]
    public async Task Concurrent_single_event_posts_share_commits_and_each_is_answered_after_its_commit()
    {
        var logs = new CapturedLogs();
        await using var server = await TestServer.StartAsync(logging: logs.Configure(stele: LogLevel.Debug));
        await Api.IngestAsync(server.Admin, "api/v1/events", new { actor_id = "warm", action = "group.warmup" });
        logs.Clear();

        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var unseen = 0;
        async Task<(string Id, long Seq)> PostAsync(int i)
        {
            await go.Task;
            using var response = await server.Admin.PostAsJsonAsync("api/v1/events", new { actor_id = $"user_{i}", action = "group.commit" });
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Created, body);
            var created = JsonDocument.Parse(body).RootElement;
            var id = created.GetProperty("id").GetString()!;

            // Answered, so committed: another connection to the database file sees the row already.
            await using var db = new SqliteConnection($"Data Source={server.DatabasePath};Mode=ReadOnly;Pooling=False");
            await db.OpenAsync();
            await using var command = db.CreateCommand();
            command.CommandText = "SELECT count(*) FROM events WHERE id = $id";
            command.Parameters.AddWithValue("$id", id);
            if ((long)(await command.ExecuteScalarAsync())! != 1)
            {
                Interlocked.Increment(ref unseen);
            }

            return (id, created.GetProperty("seq").GetInt64());
        }

        var posts = Enumerable.Range(0, Requests).Select(PostAsync).ToList();
        await Task.Delay(200);
        go.SetResult();
        var results = await Task.WhenAll(posts);

        Assert.Equal(0, unseen);
        Assert.Equal(Requests, results.Select(r => r.Id).Distinct().Count());
        Assert.Equal(Enumerable.Range(1, Requests).Select(i => (long)i), results.Select(r => r.Seq).Order());

        var commits = logs.Entries
            .Where(e => e.EventId.Id == CommittedEventId && (string?)e.Value("Ledger") == "default")
            .ToList();
        var events = commits.Sum(c => Convert.ToInt32(c.Value("Events"), System.Globalization.CultureInfo.InvariantCulture));
        var requests = commits.Sum(c => Convert.ToInt32(c.Value("Requests"), System.Globalization.CultureInfo.InvariantCulture));
        output.WriteLine($"{Requests} requests committed in {commits.Count} transactions (largest group {commits.Max(c => Convert.ToInt32(c.Value("Requests"), System.Globalization.CultureInfo.InvariantCulture))})");
        Assert.Equal(Requests, events);
        Assert.Equal(Requests, requests);
        Assert.True(commits.Count < Requests, $"{Requests} concurrent requests took {commits.Count} commits: no group commit");
        Assert.Contains(commits, c => Convert.ToInt32(c.Value("Requests"), System.Globalization.CultureInfo.InvariantCulture) > 1);
    }
}

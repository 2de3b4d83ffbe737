using Microsoft.Data.Sqlite;
using Stele.Storage;
using Stele.Storage.Sqlite;

namespace Stele.Storage.Tests;

public sealed class SqliteQueryPlanTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "stele-plan-" + Guid.NewGuid().ToString("N"));

    public static TheoryData<string, string> Filters() => new()
    {
        { "actor_id", "events_by_actor" },
        { "action", "events_by_action" },
        { "action_prefix", "events_by_action" },
        { "action_suffix", "events_by_action_suffix" },
        { "resource", "events_by_resource" },
        { "resource_id", "events_by_resource_id" },
        { "tenant_id", "events_by_tenant" },
        { "session_id", "events_by_session" },
        { "ip_country", "events_by_country" },
        { "outcome", "events_by_outcome" },
        { "time_range", "events_by_occurred_at" },
        { "target_type", "event_targets_by_type" },
        { "target_id", "event_targets_by_id" },
        { "search", "event_search VIRTUAL TABLE INDEX" },
    };

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task Every_event_filter_is_served_by_its_index(string filter, string index)
    {
        var query = filter switch
        {
            "actor_id" => new EventQuery { ActorId = "a" },
            "action" => new EventQuery { Action = "document.deleted" },
            "action_prefix" => new EventQuery { Action = "document.*" },
            "action_suffix" => new EventQuery { Action = "*.deleted" },
            "resource" => new EventQuery { Resource = "document" },
            "resource_id" => new EventQuery { ResourceId = "doc_1" },
            "tenant_id" => new EventQuery { TenantId = "t" },
            "session_id" => new EventQuery { SessionId = "s" },
            "ip_country" => new EventQuery { IpCountry = "DE" },
            "outcome" => new EventQuery { Outcome = "failure" },
            "time_range" => new EventQuery { FromMicros = 1, ToMicros = 2 },
            "target_type" => new EventQuery { TargetType = "user" },
            "target_id" => new EventQuery { TargetId = "u1" },
            "search" => new EventQuery { Search = "needle" },
            _ => throw new ArgumentOutOfRangeException(nameof(filter)),
        };

        var path = Path.Combine(_directory, "stele.db");
        await using (var store = new SqliteSteleStore(path))
        {
            await store.InitializeAsync(CancellationToken.None);
        }

        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using (var attach = connection.CreateCommand())
        {
            attach.CommandText = "ATTACH DATABASE $index AS ix;";
            attach.Parameters.AddWithValue("$index", SqliteSteleStore.IndexPathOf(path));
            attach.ExecuteNonQuery();
        }

        using var command = SqliteSteleStore.CreateQueryCommand(connection, 1, query);
        command.CommandText = "EXPLAIN QUERY PLAN " + command.CommandText;
        var plan = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                plan.Add(reader.GetString(3));
            }
        }

        var text = string.Join('\n', plan);
        Assert.True(text.Contains(index, StringComparison.Ordinal), $"{filter} should use {index}; plan:\n{text}");
        // A full scan of the events or their index rows (rather than a search through an index) would read every row.
        Assert.DoesNotContain(plan, line => (line.StartsWith("SCAN e", StringComparison.Ordinal) || line.StartsWith("SCAN x", StringComparison.Ordinal))
            && !line.Contains("INDEX", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

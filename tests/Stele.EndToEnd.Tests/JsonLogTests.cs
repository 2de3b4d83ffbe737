using System.Text.Json;

namespace Stele.EndToEnd.Tests;

/// <summary><c>LogFormat=json</c>: <c>stele serve</c> writes each log entry as one JSON object, its named values as fields.</summary>
public sealed class JsonLogTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "stele-e2e-jsonlog-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task With_LogFormat_json_every_log_entry_is_a_JSON_object_with_its_event_id_and_values()
    {
        using var server = await ServerProcess.StartAsync(_dataDirectory, environment: new Dictionary<string, string> { ["STELE_LOGFORMAT"] = "json" });
        var entries = server.Output.Split('\n')
            .Where(line => line.TrimStart().StartsWith('{'))
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())
            .ToList();

        var opened = Assert.Single(entries, e => e.GetProperty("EventId").GetInt32() == 3102);
        Assert.Equal("Information", opened.GetProperty("LogLevel").GetString());
        Assert.StartsWith("SQLite ", opened.GetProperty("State").GetProperty("Store").GetString(), StringComparison.Ordinal);
        Assert.All(entries, e => Assert.True(e.TryGetProperty("Timestamp", out _) && e.TryGetProperty("Category", out _), e.ToString()));
    }

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}

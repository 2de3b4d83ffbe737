using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Stele.Server.Exports;

namespace Stele.Server.Tests;

public sealed class ExportCommandTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Stele_export_passes_its_filters_and_writes_the_downloaded_file()
    {
        var events = Enumerable.Range(0, 12).Select(i => new { actor_id = $"user_{i % 3}", action = i % 2 == 0 ? "document.deleted" : "user.login" }).ToArray();
        using (var response = await _server.Admin.PostAsJsonAsync("api/v1/events/batch", new { events }))
        {
            response.EnsureSuccessStatusCode();
        }

        var output = Path.Combine(_server.DataDirectory, "out.jsonl");
        var exit = await Cli.Cli.RunAsync(
        [
            "export", "--url", _server.BaseAddress.ToString(), "--ledger", "default", "--key", _server.AdminKey,
            "--format", "jsonl", "--actor-id", "user_1", "--action", "document.*", "--quiet", "--out", output,
        ]);

        Assert.Equal(0, exit);
        var lines = (await File.ReadAllLinesAsync(output)).Select(l => JsonNode.Parse(l)!).ToList();
        var expected = JsonNode.Parse(await _server.Admin.GetStringAsync("api/v1/events?actor_id=user_1&action=document.*"))!["data"]!.AsArray();
        Assert.Equal(2, lines.Count);
        Assert.Equal(expected.Count, lines.Count);
        Assert.All(lines.Zip(expected), pair => Assert.True(JsonNode.DeepEquals(pair.First, pair.Second)));
        Assert.False(File.Exists(output + ".part"));
    }

    [Theory]
    [InlineData("=1+1", "'=1+1")]
    [InlineData("+31 6 1234", "'+31 6 1234")]
    [InlineData("-2", "'-2")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\tx", "'\tx")]
    [InlineData("\rx", "\"'\rx\"")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData("plain 1=1", "plain 1=1")]
    [InlineData("", "")]
    public void A_CSV_cell_is_quoted_per_RFC_4180_and_formula_safe(string value, string written)
    {
        var text = new StringWriter();
        new CsvEventWriter(text).WriteRow([value, "next"]);
        Assert.Equal(written + ",next\r\n", text.ToString());
    }
}

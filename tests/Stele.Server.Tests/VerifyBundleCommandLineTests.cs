using System.Text.Json.Nodes;

namespace Stele.Server.Tests;

/// <summary><c>stele verify FILE --key</c> run as a child process on a genuine and on a tampered export bundle.</summary>
public sealed class VerifyBundleCommandLineTests(ExportBundleFixture fixture) : IClassFixture<ExportBundleFixture>
{
    private async Task<SteleCommand.Result> VerifyAsync(IEnumerable<string> lines)
    {
        var path = Path.Combine(fixture.Server.DataDirectory, $"bundle-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllTextAsync(path, string.Join('\n', lines) + "\n");
        return await SteleCommand.RunAsync("verify", path, "--key", fixture.VerifierKey.Format());
    }

    [Fact]
    public async Task A_genuine_bundle_prints_its_summary_and_exits_0()
    {
        var result = await VerifyAsync(fixture.Lines);

        Assert.True(result.ExitCode == 0, SteleCommand.Describe(result));
        Assert.Equal(
            [
                "ledger default, checkpoint size 50",
                "events checked: 50, payloads erased: 0, failures: 0",
                "scope: unfiltered export, checked to hold every event up to the checkpoint",
                "OK: the bundle verifies",
            ],
            SteleCommand.Lines(result.Output));
    }

    [Fact]
    public async Task A_changed_event_prints_one_failure_line_naming_it_and_exits_1()
    {
        // Line 0 is the checkpoint; line 17 (the 18th line of the file) is an event.
        var lines = (string[])fixture.Lines.Clone();
        var node = JsonNode.Parse(lines[17])!;
        var id = node["event"]!["id"]!.GetValue<string>();
        var seq = node["event"]!["seq"]!.GetValue<long>();
        node["event"]!["actor_id"] = "someone_else";
        lines[17] = node.ToJsonString();

        var result = await VerifyAsync(lines);

        Assert.True(result.ExitCode == 1, SteleCommand.Describe(result));
        var output = SteleCommand.Lines(result.Output);
        Assert.Equal("events checked: 50, payloads erased: 0, failures: 1", output[1]);
        var failure = Assert.Single(output, l => l.Contains(": event ", StringComparison.Ordinal));
        Assert.StartsWith($"field_mismatch: event {id} (seq {seq}, line 18): ", failure, StringComparison.Ordinal);
        Assert.Equal("FAILED: the bundle does not verify", output[^1]);
    }
}

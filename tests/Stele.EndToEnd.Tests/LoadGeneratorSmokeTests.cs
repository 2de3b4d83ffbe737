using System.Text.RegularExpressions;
using Stele.Load;

namespace Stele.EndToEnd.Tests;

/// <summary>The load generator works end to end (its timings are not checked here).</summary>
public sealed partial class LoadGeneratorSmokeTests
{
    [Fact]
    public async Task Every_scenario_runs_against_a_spawned_server_without_failures()
    {
        var options = Args.Parse(["--smoke", "--stele", Path.Combine(AppContext.BaseDirectory, "stele.dll")]);
        var lines = await Bench.RunAsync(options, TextWriter.Null, CancellationToken.None);

        foreach (var name in new[] { "raw SQLite", "batch ingest", "single-event ingest", "filtered query", "inclusion proof", "GET /verify" })
        {
            var line = Assert.Single(lines, l => l.StartsWith(name, StringComparison.Ordinal));
            var ops = long.Parse(Ops().Match(line).Groups[1].Value.Replace(",", string.Empty, StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(ops > 0, line);
            Assert.EndsWith("failures 0", line, StringComparison.Ordinal);
        }

        Assert.Contains(lines, l => l.StartsWith("server peak RSS: ", StringComparison.Ordinal) && !l.Contains("NaN", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"ops\s+([\d,]+)")]
    private static partial Regex Ops();
}

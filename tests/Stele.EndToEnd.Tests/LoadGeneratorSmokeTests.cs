using System.Text.RegularExpressions;
using Stele.Load;

namespace Stele.EndToEnd.Tests;

/// <summary>The load generator works end to end (its timings are not checked here).</summary>
public sealed partial class LoadGeneratorSmokeTests
{
    [Fact]
    public async Task Every_scenario_runs_against_a_spawned_server_without_failures()
    {
        var options = Args.Parse(["--smoke", "--stele", Path.Combine(AppContext.BaseDirectory, "stele.dll"), "--scenarios", "ceiling,index,http,batch,single,fill,query,proof@2,verify"]);
        var lines = await Bench.RunAsync(options, TextWriter.Null, CancellationToken.None);

        string[] scenarios =
        [
            "raw SQLite, same rows and indexes in-line", "raw SQLite, durable rows only", "index writer alone (1,000/transaction)", "GET /healthz", "batch ingest", "single-event ingest", "fill to 5,000 events",
            "visible in GET /events, during batch ingest", "checkpoint covers it, during batch ingest",
            "visible in GET /events, during single-event ingest", "checkpoint covers it, during single-event ingest",
            "filtered query", "  query: actor", "  query: action pattern", "  query: action suffix + tenant", "  query: tenant + time range",
            "inclusion proof", "GET /verify",
        ];
        foreach (var name in scenarios)
        {
            var line = Assert.Single(lines, l => l.StartsWith(name, StringComparison.Ordinal));
            var ops = long.Parse(Ops().Match(line).Groups[1].Value.Replace(",", string.Empty, StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(ops > 0, line);
            Assert.EndsWith("failures 0", line, StringComparison.Ordinal);
        }

        // "proof@2" ran the proof scenario with two clients.
        Assert.Matches(@"^inclusion proof\s+clients\s+2\s", lines.Single(l => l.StartsWith("inclusion proof", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("server peak RSS: ", StringComparison.Ordinal) && !l.Contains("NaN", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("server peak RSS after fill: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("query indexes caught up with ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_warm_up_runs_the_load_first_and_reports_only_the_measured_run()
    {
        // --smoke caps the warm-up at one second, as it caps the run.
        var options = Args.Parse(["--smoke", "--warmup", "30", "--stele", Path.Combine(AppContext.BaseDirectory, "stele.dll"), "--scenarios", "http,single"]);
        var progress = new StringWriter();
        var lines = await Bench.RunAsync(options, progress, CancellationToken.None);

        Assert.Contains("http: warming up for 1 s (not recorded)", progress.ToString(), StringComparison.Ordinal);
        Assert.Contains("single: warming up for 1 s (not recorded)", progress.ToString(), StringComparison.Ordinal);
        Assert.Single(lines, l => l.StartsWith("GET /healthz", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("single-event ingest", StringComparison.Ordinal));

        // Progress shows each measured result as it ends; the warm-up's result is not among them.
        Assert.Single(progress.ToString().Split('\n'), l => l.StartsWith("single-event ingest", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_scenario_with_a_client_count_that_is_not_a_number_is_refused_before_anything_starts()
    {
        var options = Args.Parse(["--smoke", "--stele", Path.Combine(AppContext.BaseDirectory, "stele.dll"), "--scenarios", "batch,proof@many"]);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Bench.RunAsync(options, TextWriter.Null, CancellationToken.None));
        Assert.Contains("proof@many", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help", 0, "stele load generator. Usage:")]
    [InlineData("--bogus", 2, "unknown option --bogus")]
    [InlineData("--clients many", 2, "--clients needs a non-negative whole number, not 'many'")]
    [InlineData("--fill 1.5", 2, "--fill needs a non-negative whole number, not '1.5'")]
    [InlineData("--seconds -1", 2, "--seconds needs a non-negative number, not '-1'")]
    [InlineData("--seconds", 2, "--seconds needs a value")]
    public async Task The_command_line_prints_its_usage_on_help_and_names_a_bad_option_without_a_stack_trace(string arguments, int exitCode, string expected)
    {
        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Stele.Load.dll"));
        foreach (var argument in arguments.Split(' '))
        {
            info.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        var all = await output + await error;
        Assert.Equal(exitCode, process.ExitCode);
        Assert.Contains(expected, all, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
        if (exitCode != 0)
        {
            Assert.Contains("Usage:", await error, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"ops\s+([\d,]+)")]
    private static partial Regex Ops();
}

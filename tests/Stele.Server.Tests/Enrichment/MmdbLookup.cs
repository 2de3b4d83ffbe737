using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Stele.Server.Tests.Enrichment;

/// <summary>
/// libmaxminddb's <c>mmdblookup</c> (Debian <c>mmdb-bin</c>), the reference reader the tests
/// compare with. Missing: its tests are skipped locally and fail under <c>CI=true</c>
/// (scripts/test-deps.sh installs it).
/// </summary>
internal static partial class MmdbLookup
{
    public static string? Program { get; } = Find();

    public static bool IsCi { get; } = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Null when the tests must run (the program is there, or CI requires them).</summary>
    public static string? SkipReason =>
        Program is null && !IsCi ? "mmdblookup is not installed (apt-get install mmdb-bin, or run ./test.sh as root)." : null;

    public static string RequireProgram() =>
        Program ?? throw new InvalidOperationException("CI=true but mmdblookup is not on PATH: install Debian's mmdb-bin (scripts/test-deps.sh does).");

    /// <summary>The string at <paramref name="path"/> for <paramref name="ip"/>, or null when the address or the path is not there.</summary>
    public static async Task<string?> LookupStringAsync(string database, string ip, params string[] path)
    {
        var start = new ProcessStartInfo(RequireProgram())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--file", database, "--ip", ip }.Concat(path))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        var errors = await stderr;

        // Exit codes (mmdblookup 1.7): 0 found, 5 the path is not in the record, 6 the address is not in the database.
        switch (process.ExitCode)
        {
            case 0:
                var match = StringValue().Match(output);
                Assert.True(match.Success, $"mmdblookup printed no string for {ip} {string.Join(' ', path)}: {output}");
                return match.Groups[1].Value;
            case 5 or 6:
                return null;
            default:
                throw new InvalidOperationException($"mmdblookup exited with {process.ExitCode} for {ip}: {output} {errors}");
        }
    }

    private static string? Find()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(directory, "mmdblookup");
            if (directory.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    [GeneratedRegex("^\\s*\"(.*)\" <utf8_string>\\s*$", RegexOptions.Multiline)]
    private static partial Regex StringValue();
}

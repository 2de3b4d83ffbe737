using System.Diagnostics;
using System.Text;

namespace Stele.Server.Tests;

/// <summary>Runs the <c>stele</c> command (the stele.dll built next to the tests) as a child process, as a user would.</summary>
internal static class SteleCommand
{
    public sealed record Result(int ExitCode, string Output, string Error);

    public static async Task<Result> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "stele.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start stele.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"stele {string.Join(' ', args)} did not finish within 2 minutes:\n{await output}\n{await error}");
        }

        return new Result(process.ExitCode, await output, await error);
    }

    /// <summary>The lines of <paramref name="text"/>, without empty ones.</summary>
    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static string Describe(Result result) =>
        new StringBuilder().Append("exit ").Append(result.ExitCode).Append("\nstdout:\n").Append(result.Output).Append("\nstderr:\n").Append(result.Error).ToString();
}

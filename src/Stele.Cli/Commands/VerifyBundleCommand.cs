using System.Globalization;
using Stele.Cli.Bundles;
using Stele.Core.Notes;

namespace Stele.Cli.Commands;

/// <summary>
/// <c>stele verify FILE --key VKEY</c>: checks an export bundle offline (no server, no network)
/// against a pinned verifier key. Exits 0 when everything verifies, 1 on any failure.
/// </summary>
internal static class VerifyBundleCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var line = CommandLine.Parse(args, ["--key"], ["--quiet"]);
        if (line.Positional.Count != 1)
        {
            throw new UsageException("stele verify FILE --key VERIFIER_KEY: name exactly one bundle file.");
        }

        var path = line.Positional[0];
        var keyText = line.Require("--key");
        if (!File.Exists(path))
        {
            throw new UsageException($"No file '{path}'.");
        }

        NoteVerifierKey key;
        try
        {
            key = NoteVerifierKey.Parse(File.Exists(keyText) ? (await File.ReadAllTextAsync(keyText).ConfigureAwait(false)).Trim() : keyText.Trim());
        }
        catch (Stele.Core.Errors.SteleFormatException ex)
        {
            throw new UsageException($"--key is not a C2SP verifier key: {ex.Message}");
        }

        var report = await new BundleVerifier(key).VerifyFileAsync(path, line.Has("--quiet") ? null : Console.Error, CancellationToken.None).ConfigureAwait(false);
        Print(report, Console.Out);
        return report.IsValid ? 0 : 1;
    }

    internal static void Print(BundleReport report, TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(c, $"ledger {report.Ledger ?? "(unknown)"}, checkpoint size {report.TreeSize?.ToString(c) ?? "(unverified)"}"));
        output.WriteLine(string.Create(c, $"events checked: {report.EventsChecked}, payloads erased: {report.PayloadsErased}, failures: {report.FailureCount}"));
        output.WriteLine(report.Unfiltered
            ? "scope: unfiltered export, checked to hold every event up to the checkpoint"
            : "scope: filtered export (as the bundle's request says); completeness against the server is not checked offline");
        foreach (var failure in report.Failures)
        {
            output.WriteLine(failure.ToString());
        }

        if (report.FailureCount > report.Failures.Count)
        {
            output.WriteLine(string.Create(c, $"... and {report.FailureCount - report.Failures.Count} more failures"));
        }

        output.WriteLine(report.IsValid ? "OK: the bundle verifies" : "FAILED: the bundle does not verify");
    }
}

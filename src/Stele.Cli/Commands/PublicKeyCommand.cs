using System.Text;
using Stele.Core.Notes;

namespace Stele.Cli.Commands;

/// <summary><c>stele public-key</c>: prints the instance's verifier key, from the data directory or a server.</summary>
internal static class PublicKeyCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var line = CommandLine.Parse(args, ["--data-dir", "--url"], []);
        if (line.Get("--url") is { } url)
        {
            using var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/") };
            Console.WriteLine((await http.GetStringAsync(new Uri("api/v1/public-key", UriKind.Relative)).ConfigureAwait(false)).Trim());
            return 0;
        }

        var dataDirectory = line.Get("--data-dir") ?? Environment.GetEnvironmentVariable("STELE_DATADIRECTORY") ?? "stele-data";
        var path = Path.Combine(dataDirectory, "signing.key");
        if (!File.Exists(path))
        {
            await Console.Error.WriteLineAsync($"stele: no signing key at {path}; start the server once, or pass --data-dir.").ConfigureAwait(false);
            return 2;
        }

        var signer = NoteSignerKey.Parse((await File.ReadAllTextAsync(path, Encoding.UTF8).ConfigureAwait(false)).Trim());
        Console.WriteLine(signer.VerifierKey.Format());
        return 0;
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Stele.Cli.Commands;

/// <summary>
/// <c>stele export --url --ledger --key [filters] --format jsonl|csv [--gzip] [--proofs] --out FILE</c>:
/// creates an export job, shows its progress on stderr, and downloads the file when it is done.
/// </summary>
internal static class ExportCommand
{
    private static readonly string[] Filters =
    [
        "action", "actor_id", "resource", "resource_id", "target_type", "target_id", "tenant_id", "session_id",
        "ip_country", "outcome", "from", "to", "search",
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var valueOptions = Filters.Select(f => "--" + f.Replace('_', '-')).Concat(["--url", "--ledger", "--key", "--format", "--out"]).ToArray();
        var line = CommandLine.Parse(args, valueOptions, ["--gzip", "--proofs", "--quiet"]);
        var url = line.Require("--url");
        var ledger = line.Require("--ledger");
        var apiKey = line.Get("--key") ?? Environment.GetEnvironmentVariable("STELE_API_KEY") ?? throw new UsageException("--key (or STELE_API_KEY) is required.");
        var format = line.Require("--format");
        var output = line.Require("--out");
        if (format is not ("jsonl" or "csv"))
        {
            throw new UsageException("--format must be jsonl or csv.");
        }

        if (!Uri.TryCreate(url.TrimEnd('/') + "/", UriKind.Absolute, out var baseUri))
        {
            throw new UsageException($"--url must be an absolute URL, got '{url}'.");
        }

        var body = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["format"] = format,
            ["gzip"] = line.Has("--gzip"),
            ["include_proofs"] = line.Has("--proofs"),
        };
        foreach (var filter in Filters)
        {
            if (line.Get("--" + filter.Replace('_', '-')) is { } value)
            {
                body[filter] = value;
            }
        }

        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromMinutes(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var progress = line.Has("--quiet") ? null : Console.Error;
        try
        {
            return await RunAsync(http, ledger, body, output, progress, CancellationToken.None).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            await Console.Error.WriteLineAsync($"stele: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    internal static async Task<int> RunAsync(HttpClient http, string ledger, IReadOnlyDictionary<string, object> body, string output, TextWriter? progress, CancellationToken cancellationToken)
    {
        var prefix = $"api/v1/ledgers/{Uri.EscapeDataString(ledger)}/exports";
        using var content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var created = await http.PostAsync(new Uri(prefix, UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
        var createdText = await created.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (created.StatusCode != HttpStatusCode.Accepted)
        {
            await Console.Error.WriteLineAsync($"stele: the server refused the export ({(int)created.StatusCode}): {createdText}").ConfigureAwait(false);
            return 2;
        }

        var id = JsonDocument.Parse(createdText).RootElement.GetProperty("id").GetString()!;
        while (true)
        {
            using var status = await http.GetAsync(new Uri($"{prefix}/{id}", UriKind.Relative), cancellationToken).ConfigureAwait(false);
            status.EnsureSuccessStatusCode();
            using var json = JsonDocument.Parse(await status.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            var root = json.RootElement;
            var state = root.GetProperty("state").GetString();
            var done = root.GetProperty("rows_done").GetInt64();
            var total = root.GetProperty("rows_total");
            progress?.Write(string.Create(CultureInfo.InvariantCulture, $"\rexport {id}: {state}, {done:N0} of {(total.ValueKind == JsonValueKind.Number ? total.GetInt64().ToString("N0", CultureInfo.InvariantCulture) : "?")} rows   "));
            if (state == "failed")
            {
                progress?.WriteLine();
                await Console.Error.WriteLineAsync($"stele: the export failed: {root.GetProperty("error").GetString()}").ConfigureAwait(false);
                return 2;
            }

            if (state == "succeeded")
            {
                progress?.WriteLine();
                break;
            }

            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        }

        using var download = await http.GetAsync(new Uri($"{prefix}/{id}/download", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        download.EnsureSuccessStatusCode();
        var partial = output + ".part";
        var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        await using (file.ConfigureAwait(false))
        {
            await download.Content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
        }

        File.Move(partial, output, overwrite: true);
        progress?.WriteLine($"wrote {output} ({new FileInfo(output).Length:N0} bytes)");
        return 0;
    }
}

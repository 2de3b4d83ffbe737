using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Stele.Server.Tests.Delivery;

/// <summary>
/// A real SMTP server for one test: Debian's aiosmtpd run by Delivery/SmtpCapture/smtp_capture.py on
/// 127.0.0.1 at a free port, writing each accepted message to a JSON file. Disposing stops it (by closing
/// its standard input, or killing that one process) and deletes its files.
/// </summary>
internal sealed class SmtpTestServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _errors = new();

    private SmtpTestServer(Process process, string directory, int port)
    {
        _process = process;
        Directory = directory;
        Port = port;
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_errors)
            {
                _errors.AppendLine(e.Data);
            }
        };
        _process.BeginErrorReadLine();
    }

    public int Port { get; }

    public string Directory { get; }

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    /// <summary>Starts the server with smtp_capture.py's options (for example <c>--cert c --key k</c>, <c>--user u --password p</c>).</summary>
    public static async Task<SmtpTestServer> StartAsync(params string[] options)
    {
        DeliveryEnvironment.Require(DeliveryDependency.SmtpServer);
        var directory = Path.Combine(Path.GetTempPath(), "stele-tests", "smtp-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var start = new ProcessStartInfo(DeliveryEnvironment.Python!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Delivery", "SmtpCapture", "smtp_capture.py"));
        start.ArgumentList.Add("--dir");
        start.ArgumentList.Add(directory);
        foreach (var option in options)
        {
            start.ArgumentList.Add(option);
        }

        var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            line = null;
        }

        if (line is null || !line.StartsWith("ready ", StringComparison.Ordinal))
        {
            process.Kill();
            var stderr = await process.StandardError.ReadToEndAsync();
            process.Dispose();
            throw new InvalidOperationException($"The SMTP test server did not start: {line} {stderr}");
        }

        return new SmtpTestServer(process, directory, int.Parse(line["ready ".Length..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The messages accepted so far, in order.</summary>
    public IReadOnlyList<JsonElement> Messages() =>
        [.. System.IO.Directory.GetFiles(Directory, "*.json")
            .Where(file => file.EndsWith(".json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(file => Parse(File.ReadAllText(file)))];

    /// <summary>Every AUTH attempt so far: login, mechanism and whether it succeeded.</summary>
    public IReadOnlyList<JsonElement> AuthAttempts()
    {
        var file = Path.Combine(Directory, "auth.jsonl");
        return File.Exists(file) ? [.. File.ReadAllLines(file).Where(l => l.Length > 0).Select(Parse)] : [];
    }

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}

using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Stele.EndToEnd.Tests;

/// <summary>
/// <c>stele serve</c> as a child process (the same binary users run), on a free port of
/// 127.0.0.1. <see cref="Kill"/> sends SIGKILL: no shutdown code runs.
/// </summary>
internal sealed partial class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _output;

    private ServerProcess(Process process, Uri address, string? adminKey, List<string> output)
    {
        _process = process;
        _output = output;
        Address = address;
        AdminKey = adminKey;
    }

    public Uri Address { get; }

    /// <summary>The bootstrap key, printed only on the first start of a data directory.</summary>
    public string? AdminKey { get; }

    /// <summary>Starts <c>stele serve</c>; <paramref name="store"/> and <paramref name="signingKeyFile"/> are passed as <c>--store</c> and <c>--signing-key-file</c> when given.</summary>
    public static async Task<ServerProcess> StartAsync(string dataDirectory, TimeSpan? timeout = null, string? store = null, string? signingKeyFile = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "stele.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add("--data-dir");
        info.ArgumentList.Add(dataDirectory);
        info.ArgumentList.Add("--listen");
        info.ArgumentList.Add("http://127.0.0.1:0");
        info.ArgumentList.Add("--instance-name");
        info.ArgumentList.Add("e2e.stele");
        if (store is not null)
        {
            info.ArgumentList.Add("--store");
            info.ArgumentList.Add(store);
        }

        if (signingKeyFile is not null)
        {
            info.ArgumentList.Add("--signing-key-file");
            info.ArgumentList.Add(signingKeyFile);
        }

        info.Environment["STELE_CHECKPOINTINTERVAL"] = "00:00:00.200";
        info.Environment["STELE_RATELIMITS__PERKEYPERSECOND"] = "0";
        info.Environment["STELE_RATELIMITS__PERLEDGERPERSECOND"] = "0";

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start stele.");
        var lines = new List<string>();
        var ready = new TaskCompletionSource<(Uri, string?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        string? address = null;
        string? key = null;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                ready.TrySetException(new InvalidOperationException("stele exited before it was ready:\n" + string.Join('\n', lines)));
                return;
            }

            lock (lines)
            {
                lines.Add(e.Data);
            }

            if (ListeningLine().Match(e.Data) is { Success: true } m)
            {
                address = m.Groups[1].Value;
            }
            else if (KeyLine().Match(e.Data) is { Success: true } k)
            {
                key = k.Groups[1].Value;
            }
            else if (e.Data.StartsWith("Press Ctrl+C", StringComparison.Ordinal) && address is not null)
            {
                ready.TrySetResult((new Uri(address.TrimEnd('/') + "/"), key));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (lines)
                {
                    lines.Add(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var (uri, adminKey) = await ready.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        return new ServerProcess(process, uri, adminKey, lines);
    }

    /// <summary>Everything the server printed so far (standard output and error).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    [GeneratedRegex(@"^Stele is listening on (\S+)")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"^\s+(stele_[a-z2-7]{12}_[A-Za-z0-9_-]{43})\s*$")]
    private static partial Regex KeyLine();
}

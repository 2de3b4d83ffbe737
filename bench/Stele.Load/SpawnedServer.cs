using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Stele.Load;

/// <summary>
/// <c>stele serve</c> as a child process on a fresh data directory and a free loopback port, so
/// the benchmark can read its peak resident memory (VmHWM in /proc) and remove it afterwards.
/// </summary>
internal sealed partial class SpawnedServer : IDisposable
{
    private readonly Process _process;

    private SpawnedServer(Process process, Uri address, string key, string dataDirectory)
    {
        _process = process;
        Address = address;
        AdminKey = key;
        DataDirectory = dataDirectory;
    }

    public Uri Address { get; }

    public string AdminKey { get; }

    public string DataDirectory { get; }

    public static async Task<SpawnedServer> StartAsync(string steleDll, IReadOnlyDictionary<string, string>? environment = null)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "stele-load-" + Guid.NewGuid().ToString("N"));
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { steleDll, "serve", "--data-dir", dataDirectory, "--listen", "http://127.0.0.1:0" })
        {
            info.ArgumentList.Add(arg);
        }

        // Load tests measure Stele, not its rate limiter.
        info.Environment["STELE_RATELIMITS__PERKEYPERSECOND"] = "0";
        info.Environment["STELE_RATELIMITS__PERLEDGERPERSECOND"] = "0";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start stele.");
        var ready = new TaskCompletionSource<(Uri, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        string? address = null;
        string? key = null;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                ready.TrySetException(new InvalidOperationException("stele exited before it was ready."));
            }
            else if (Listening().Match(e.Data) is { Success: true } m)
            {
                address = m.Groups[1].Value;
            }
            else if (Key().Match(e.Data) is { Success: true } k)
            {
                key = k.Groups[1].Value;
            }
            else if (e.Data.StartsWith("Press Ctrl+C", StringComparison.Ordinal) && address is not null && key is not null)
            {
                ready.TrySetResult((new Uri(address.TrimEnd('/') + "/"), key));
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var (uri, adminKey) = await ready.Task.WaitAsync(TimeSpan.FromSeconds(120)).ConfigureAwait(false);
        return new SpawnedServer(process, uri, adminKey, dataDirectory);
    }

    /// <summary>Peak resident set size of the server process so far, in MiB (VmHWM).</summary>
    public int ProcessId => _process.Id;

    /// <summary>The peak resident memory (VmHWM) of process <paramref name="pid"/> on this machine, in MiB.</summary>
    public static double PeakRssMiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                return kb / 1024.0;
            }
        }

        return double.NaN;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"^Stele is listening on (\S+)")]
    private static partial Regex Listening();

    [GeneratedRegex(@"^\s+(stele_[a-z2-7]{12}_[A-Za-z0-9_-]{43})\s*$")]
    private static partial Regex Key();
}

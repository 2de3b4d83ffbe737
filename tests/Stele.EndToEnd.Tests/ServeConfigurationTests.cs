using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Stele.EndToEnd.Tests;

/// <summary>
/// <c>stele serve</c> as a child process: settings come from appsettings.json in the working
/// directory, then STELE_* environment variables, then flags, each overriding the one before; and
/// bad settings stop it with exit code 2 and a message naming each of them.
/// </summary>
public sealed partial class ServeConfigurationTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "stele-e2e-config", Guid.NewGuid().ToString("N"));

    public ServeConfigurationTests()
    {
        Directory.CreateDirectory(_root);
    }

    [Fact]
    public async Task Flags_override_the_environment_which_overrides_appsettings_json()
    {
        await File.WriteAllTextAsync(Path.Combine(_root, "appsettings.json"), JsonSerializer.Serialize(new
        {
            DataDirectory = Path.Combine(_root, "from-json"),
            Listen = "http://127.0.0.1:0",
            InstanceName = "json.stele",
            RateLimits = new { PerKeyPerSecond = 1, PerKeyBurst = 1 },
        }));

        // appsettings.json alone.
        var fromJson = await Serve.StartAsync(_root, [], new Dictionary<string, string>());
        using (fromJson)
        {
            Assert.Equal(Path.Combine(_root, "from-json"), fromJson.Banner("data directory"));
            Assert.StartsWith("json.stele+", fromJson.Banner("verifier key"), StringComparison.Ordinal);
            Assert.Contains(HttpStatusCode.TooManyRequests, await ReadEventsAsync(fromJson, 5));
        }

        // The environment overrides it, nested settings included (RateLimits:PerKeyPerSecond = 0 turns the limit off).
        var environment = new Dictionary<string, string>
        {
            ["STELE_DATADIRECTORY"] = Path.Combine(_root, "from-env"),
            ["STELE_INSTANCENAME"] = "env.stele",
            ["STELE_RATELIMITS__PERKEYPERSECOND"] = "0",
        };
        var fromEnvironment = await Serve.StartAsync(_root, [], environment);
        using (fromEnvironment)
        {
            Assert.Equal(Path.Combine(_root, "from-env"), fromEnvironment.Banner("data directory"));
            Assert.StartsWith("env.stele+", fromEnvironment.Banner("verifier key"), StringComparison.Ordinal);
            Assert.All(await ReadEventsAsync(fromEnvironment, 5), status => Assert.Equal(HttpStatusCode.OK, status));
        }

        // Flags override both.
        var fromFlags = await Serve.StartAsync(_root, ["--data-dir", Path.Combine(_root, "from-flags"), "--instance-name", "flag.stele"], environment);
        using (fromFlags)
        {
            Assert.Equal(Path.Combine(_root, "from-flags"), fromFlags.Banner("data directory"));
            Assert.StartsWith("flag.stele+", fromFlags.Banner("verifier key"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Bad_settings_stop_stele_serve_with_exit_code_2_naming_each_setting()
    {
        var dataDirectory = Path.Combine(_root, "data");
        var result = await Serve.RunToExitAsync(_root, ["--data-dir", dataDirectory, "--listen", "ftp://127.0.0.1:8080"], new Dictionary<string, string>
        {
            ["STELE_CHECKPOINTINTERVAL"] = "00:00:00",
            ["STELE_RATELIMITS__PERKEYPERSECOND"] = "-1",
            ["STELE_EXPORTCONCURRENCYPERLEDGER"] = "0",
        });

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("stele: the configuration is not valid:", result.Error, StringComparison.Ordinal);
        Assert.Contains("Listen (STELE_LISTEN, --listen)", result.Error, StringComparison.Ordinal);
        Assert.Contains("CheckpointInterval (STELE_CHECKPOINTINTERVAL)", result.Error, StringComparison.Ordinal);
        Assert.Contains("RateLimits:PerKeyPerSecond (STELE_RATELIMITS__PERKEYPERSECOND)", result.Error, StringComparison.Ordinal);
        Assert.Contains("ExportConcurrencyPerLedger (STELE_EXPORTCONCURRENCYPERLEDGER)", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Stele is listening", result.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dataDirectory));

        var unreadable = await Serve.RunToExitAsync(_root, ["--data-dir", dataDirectory], new Dictionary<string, string> { ["STELE_EXPORTRETENTION"] = "a week" });
        Assert.True(unreadable.ExitCode == 2, unreadable.ToString());
        Assert.Contains("'a week' at 'ExportRetention'", unreadable.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", unreadable.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_listen_port_in_use_stops_stele_serve_with_exit_code_2_naming_listen()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var result = await Serve.RunToExitAsync(_root, ["--data-dir", Path.Combine(_root, "data"), "--listen", $"http://127.0.0.1:{port}"], new Dictionary<string, string>());

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"stele: could not start: Listen (STELE_LISTEN, --listen): could not listen on http://127.0.0.1:{port}", result.Error, StringComparison.Ordinal);
    }

    private static async Task<List<HttpStatusCode>> ReadEventsAsync(Serve server, int times)
    {
        using var http = new HttpClient { BaseAddress = server.Address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminKey);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < times; i++)
        {
            using var response = await http.GetAsync("api/v1/events");
            statuses.Add(response.StatusCode);
        }

        return statuses;
    }

    [Fact]
    public async Task Stele_serve_does_not_watch_the_directory_it_runs_in()
    {
        // The default data directory (./stele-data) is inside the working directory, and the host's
        // default configuration sources watch that whole tree for changes: one inotify watch per
        // directory, and an event to handle for every write to the ledger's files.
        Assert.True(OperatingSystem.IsLinux(), "reads the server's inotify watches from /proc");
        for (var i = 0; i < 20; i++)
        {
            Directory.CreateDirectory(Path.Combine(_root, "project", $"dir{i}", "sub"));
        }

        using var serve = await Serve.StartAsync(_root, ["--listen", "http://127.0.0.1:0"], new Dictionary<string, string>());
        Assert.Equal(Path.Combine(_root, "stele-data"), serve.Banner("data directory"));
        using (var client = new HttpClient { BaseAddress = serve.Address })
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", serve.AdminKey);
            using var created = await client.PostAsync(new Uri("api/v1/events", UriKind.Relative), new StringContent("""{"actor_id":"user_1","action":"watch.checked"}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        Assert.Equal(0, InotifyWatches(serve.Pid));
    }

    /// <summary>The inotify watches a process holds, over all its inotify descriptors (one "inotify wd:" line each in fdinfo).</summary>
    private static int InotifyWatches(int pid)
    {
        var watches = 0;
        foreach (var fd in Directory.GetFiles($"/proc/{pid}/fd"))
        {
            if (new FileInfo(fd).LinkTarget == "anon_inode:inotify")
            {
                watches += File.ReadLines($"/proc/{pid}/fdinfo/{Path.GetFileName(fd)}").Count(l => l.StartsWith("inotify wd:", StringComparison.Ordinal));
            }
        }

        return watches;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// <c>stele serve</c> in a chosen working directory with only the given STELE_* variables (none
    /// inherited from the test run) and flags.
    /// </summary>
    private sealed partial class Serve : IDisposable
    {
        private readonly Process _process;

        private Serve(Process process, string output)
        {
            _process = process;
            Output = output;
            Address = new Uri(ListeningLine().Match(output).Groups[1].Value.TrimEnd('/') + "/");
            AdminKey = KeyLine().Match(output).Groups[1].Value;
        }

        public string Output { get; }

        public Uri Address { get; }

        public string AdminKey { get; }

        public int Pid => _process.Id;

        /// <summary>The value of a banner line such as <c>  data directory:  /path</c>.</summary>
        public string Banner(string label) =>
            Output.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith(label + ":", StringComparison.Ordinal))[(label.Length + 1)..].Trim();

        public static async Task<Serve> StartAsync(string workingDirectory, string[] flags, IReadOnlyDictionary<string, string> environment)
        {
            var process = Launch(workingDirectory, flags, environment);
            var output = new System.Text.StringBuilder();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                output.AppendLine(line);
                if (line.StartsWith("Press Ctrl+C", StringComparison.Ordinal))
                {
                    // Keep draining the output so the server never blocks on a full pipe.
                    _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                    _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
                    return new Serve(process, output.ToString());
                }
            }

            var error = await process.StandardError.ReadToEndAsync(timeout.Token);
            process.Dispose();
            throw new InvalidOperationException($"stele serve exited before it was ready:\n{output}\n{error}");
        }

        public static async Task<Result> RunToExitAsync(string workingDirectory, string[] flags, IReadOnlyDictionary<string, string> environment)
        {
            using var process = Launch(workingDirectory, flags, environment);
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("stele serve kept running with bad settings:\n" + await output);
            }

            return new Result(process.ExitCode, await output, await error);
        }

        private static Process Launch(string workingDirectory, string[] flags, IReadOnlyDictionary<string, string> environment)
        {
            var info = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "stele.dll"));
            info.ArgumentList.Add("serve");
            foreach (var flag in flags)
            {
                info.ArgumentList.Add(flag);
            }

            foreach (var inherited in info.Environment.Keys.Where(k => k.StartsWith("STELE_", StringComparison.OrdinalIgnoreCase)).ToList())
            {
                info.Environment.Remove(inherited);
            }

            foreach (var (name, value) in environment)
            {
                info.Environment[name] = value;
            }

            return Process.Start(info) ?? throw new InvalidOperationException("Could not start stele.");
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }

            _process.Dispose();
        }

        [GeneratedRegex(@"Stele is listening on (\S+)")]
        private static partial Regex ListeningLine();

        [GeneratedRegex(@"(?m)^\s+(stele_[a-z2-7]{12}_[A-Za-z0-9_-]{43})\s*$")]
        private static partial Regex KeyLine();
    }

    private sealed record Result(int ExitCode, string Output, string Error)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
    }
}

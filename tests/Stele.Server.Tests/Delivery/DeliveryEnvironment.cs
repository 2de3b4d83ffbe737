using System.Diagnostics;

namespace Stele.Server.Tests.Delivery;

/// <summary>
/// Finds the outside programs the delivery tests use (scripts/test-deps.sh installs them). Without one
/// its tests are skipped locally and fail under <c>CI=true</c>, like the PostgreSQL tests.
/// </summary>
internal static class DeliveryEnvironment
{
    public static bool IsCi { get; } = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    private static readonly Lazy<string?> RepositoryRootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Stele.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    });

    private static readonly Lazy<string?> NodeModulesPath = new(() =>
    {
        var root = RepositoryRootPath.Value;
        var modules = root is null ? null : Path.Combine(root, ".test-artifacts", "standardwebhooks", "node_modules");
        return modules is not null && File.Exists(Path.Combine(modules, "standardwebhooks", "package.json")) && OnPath("node") is not null
            ? modules
            : null;
    });

    // Debian's python3 first: python3-aiosmtpd installs there, not into a pyenv or venv earlier on PATH.
    private static readonly Lazy<string?> AiosmtpdPython = new(() =>
        new[] { "/usr/bin/python3", OnPath("python3") }.FirstOrDefault(p => p is not null && File.Exists(p) && Runs(p, "-c", "import aiosmtpd")));

    private static readonly Lazy<string?> OpenSslPath = new(() => OnPath("openssl"));

    /// <summary>node_modules holding standardwebhooks, or null.</summary>
    public static string? NodeModules => NodeModulesPath.Value;

    /// <summary>A python3 that imports aiosmtpd, or null.</summary>
    public static string? Python => AiosmtpdPython.Value;

    public static string? OpenSsl => OpenSslPath.Value;

    /// <summary>Null when the test must run: the dependency is there, or CI requires it (and the test then fails on it).</summary>
    public static string? SkipReason(DeliveryDependency dependency)
    {
        var missing = Missing(dependency);
        return missing is null || IsCi ? null : $"{missing} is missing; run ./test.sh or scripts/test-deps.sh start to install it.";
    }

    /// <summary>Fails the test, naming what is missing, when the dependency is not there.</summary>
    public static void Require(DeliveryDependency dependency)
    {
        var missing = Missing(dependency);
        if (missing is not null)
        {
            throw new InvalidOperationException($"{missing} is missing{(IsCi ? " under CI=true, where this test must run" : string.Empty)}; scripts/test-deps.sh start installs it.");
        }
    }

    private static string? Missing(DeliveryDependency dependency) => dependency switch
    {
        DeliveryDependency.StandardWebhooksVerifier when NodeModules is null => "node with the npm package standardwebhooks (.test-artifacts/standardwebhooks)",
        DeliveryDependency.SmtpServer or DeliveryDependency.SmtpServerWithTls when Python is null => "Debian's python3-aiosmtpd",
        DeliveryDependency.SmtpServerWithTls when OpenSsl is null => "openssl",
        _ => null,
    };

    public static string? OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    private static bool Runs(string program, params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            return process.WaitForExit(30_000) && process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}

using Microsoft.Extensions.Options;
using Stele.Server.Hosting;

namespace Stele.Cli.Commands;

/// <summary><c>stele serve</c>: runs the server and prints where it listens and how to use it.</summary>
internal static class ServeCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var line = CommandLine.Parse(args, ["--data-dir", "--listen", "--instance-name", "--store", "--signing-key-file"], []);
        if (line.Positional.Count > 0)
        {
            throw new UsageException($"serve takes no arguments, got '{line.Positional[0]}'.");
        }

        var overrides = new Dictionary<string, string?>();
        if (line.Get("--data-dir") is { } dataDir)
        {
            overrides["DataDirectory"] = dataDir;
        }

        if (line.Get("--listen") is { } listen)
        {
            overrides["Listen"] = listen;
        }

        if (line.Get("--instance-name") is { } instance)
        {
            overrides["InstanceName"] = instance;
        }

        if (line.Get("--store") is { } store)
        {
            overrides["Store"] = store;
        }

        if (line.Get("--signing-key-file") is { } keyFile)
        {
            overrides["SigningKeyFile"] = keyFile;
        }

        SteleHost host;
        try
        {
            host = SteleHost.Create(overrides);
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync("stele: the configuration is not valid:\n  " + string.Join("\n  ", ex.Failures)).ConfigureAwait(false);
            return 2;
        }

        await using (host.ConfigureAwait(false))
        {
            try
            {
                await host.StartAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or System.Data.Common.DbException or IOException or UnauthorizedAccessException)
            {
                // Messages name the setting or the server, never a password.
                await Console.Error.WriteLineAsync($"stele: could not start: {ex.Message}").ConfigureAwait(false);
                return 2;
            }

            PrintWelcome(host);
            await host.WaitForShutdownAsync().ConfigureAwait(false);
        }

        return 0;
    }

    private static void PrintWelcome(SteleHost host)
    {
        var address = host.Addresses.FirstOrDefault() ?? host.Options.Listen;
        Console.WriteLine();
        Console.WriteLine($"Stele is listening on {address}");
        Console.WriteLine($"  store:           {host.StoreDescription}");
        Console.WriteLine($"  data directory:  {Path.GetFullPath(host.Options.DataDirectory)}");
        Console.WriteLine("  ledgers:         default (yours), _system (Stele's own administrative actions)");
        Console.WriteLine($"  verifier key:    {host.VerifierKey}");
        Console.WriteLine();
        if (host.BootstrapAdminKey is { } key)
        {
            Console.WriteLine("Admin API key — shown this once, Stele keeps only its hash. Store it now:");
            Console.WriteLine();
            Console.WriteLine($"  {key}");
            Console.WriteLine();
            Console.WriteLine("Record an event:");
            Console.WriteLine($"  curl -s -X POST {address}/api/v1/events \\");
            Console.WriteLine($"    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\");
            Console.WriteLine("    -d '{\"actor_id\":\"user_42\",\"action\":\"document.deleted\",\"resource\":\"document\",\"resource_id\":\"doc_7\"}'");
            Console.WriteLine();
            Console.WriteLine("Read it back, and check the whole ledger:");
            Console.WriteLine($"  curl -s {address}/api/v1/events -H 'Authorization: Bearer {key}'");
            Console.WriteLine($"  curl -s {address}/api/v1/verify -H 'Authorization: Bearer {key}'");
        }
        else
        {
            Console.WriteLine("The admin API key was shown when this store was first started.");
            Console.WriteLine($"Create more keys with: curl -X POST {address}/api/v1/keys -H 'Authorization: Bearer <admin key>' \\");
            Console.WriteLine("  -H 'Content-Type: application/json' -d '{\"name\":\"my app\",\"ledger\":\"default\",\"permissions\":[\"ingest\"]}'");
        }

        Console.WriteLine();
        Console.WriteLine("Press Ctrl+C to stop.");
    }
}

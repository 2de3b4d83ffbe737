using Stele.Cli.Commands;

namespace Stele.Cli;

/// <summary>The <c>stele</c> command: dispatches to a sub-command. Exit codes: 0 ok, 1 failure found, 2 usage or runtime error.</summary>
internal static class Cli
{
    public const string Usage =
        """
        stele — a verifiable audit trail

        Usage:
          stele serve [--data-dir DIR] [--listen URL] [--instance-name NAME]
                      [--store sqlite|postgres://USER:PASSWORD@HOST/DB] [--signing-key-file FILE]
              Run the server: embedded SQLite in DIR (default ./stele-data), or PostgreSQL,
              which several nodes may share (give them one signing key file).
          stele verify --url URL --ledger NAME --key API_KEY [--vkey VERIFIER_KEY]
              Download a ledger's checkpoint, tiles, entries and payloads over /tlog/ and check
              everything locally. Exits 1 if anything does not verify.
          stele verify FILE --key VERIFIER_KEY
              Check an export bundle (jsonl with proofs, gzip'd or not) offline against a pinned
              verifier key (text or file). Exits 1 if anything does not verify.
          stele export --url URL --ledger NAME --key API_KEY --format jsonl|csv --out FILE
                [--gzip] [--proofs] [--action P] [--actor-id ID] [--resource R] [--resource-id ID]
                [--target-type T] [--target-id ID] [--tenant-id ID] [--session-id ID]
                [--ip-country CC] [--outcome success|failure] [--from TIME] [--to TIME] [--search TEXT]
              Create an export on the server, show its progress, and download it.
          stele public-key [--data-dir DIR] | --url URL
              Print the instance's C2SP verifier key (from the data directory or a server).

        Settings also come from appsettings.json and STELE_* environment variables
        (STELE_DATADIRECTORY, STELE_LISTEN, STELE_INSTANCENAME, STELE_STORE, STELE_STOREOWNER,
        STELE_SIGNINGKEYFILE, STELE_SIGNINGKEY, ...). Prefer STELE_STORE over --store for a
        connection that holds a password: flags are visible to other local users.
        """;

    /// <summary>The online form of <c>verify</c> names a server; the offline one (a bundle file) does not.</summary>
    private static bool IsOnline(string[] args) =>
        args.Any(a => a == "--url" || a.StartsWith("--url=", StringComparison.Ordinal));

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            return args[0] switch
            {
                "serve" => await ServeCommand.RunAsync(args[1..]).ConfigureAwait(false),
                "verify" when IsOnline(args) => await VerifyCommand.RunAsync(args[1..]).ConfigureAwait(false),
                "verify" => await VerifyBundleCommand.RunAsync(args[1..]).ConfigureAwait(false),
                "export" => await ExportCommand.RunAsync(args[1..]).ConfigureAwait(false),
                "public-key" => await PublicKeyCommand.RunAsync(args[1..]).ConfigureAwait(false),
                _ => throw new UsageException($"Unknown command '{args[0]}'."),
            };
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"stele: {ex.Message}\n\n{Usage}").ConfigureAwait(false);
            return 2;
        }
    }
}

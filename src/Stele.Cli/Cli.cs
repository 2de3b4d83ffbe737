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
          stele public-key [--data-dir DIR] | --url URL
              Print the instance's C2SP verifier key (from the data directory or a server).

        Settings also come from appsettings.json and STELE_* environment variables
        (STELE_DATADIRECTORY, STELE_LISTEN, STELE_INSTANCENAME, STELE_STORE, STELE_STOREOWNER,
        STELE_SIGNINGKEYFILE, STELE_SIGNINGKEY, ...). Prefer STELE_STORE over --store for a
        connection that holds a password: flags are visible to other local users.
        """;

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
                "verify" => await VerifyCommand.RunAsync(args[1..]).ConfigureAwait(false),
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

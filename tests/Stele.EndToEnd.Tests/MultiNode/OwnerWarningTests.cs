using Npgsql;
using Stele.EndToEnd.Tests.Postgres;

namespace Stele.EndToEnd.Tests.MultiNode;

/// <summary>
/// On PostgreSQL without an owner connection the server migrates and runs as the tables' owner,
/// which only the triggers stop from changing rows: it warns once at start. With an owner
/// connection it runs as the provisioned application role and has nothing to warn about.
/// </summary>
[Collection(MultiNodeCollection.Name)]
public sealed class OwnerWarningTests
{
    private const string Warning = "SteleHost[3103]";

    [PostgresFact]
    public async Task Without_an_owner_connection_the_server_warns_once_that_it_runs_as_the_table_owner()
    {
        var database = await PostgresDatabase.CreateAsync();
        var role = "stele_app_" + Guid.NewGuid().ToString("N")[..8];
        var dataDirectory = Path.Combine(Path.GetTempPath(), "stele-e2e-owner-warning", Guid.NewGuid().ToString("N"));
        try
        {
            using (var asOwner = await ServerProcess.StartAsync(dataDirectory, store: database.ConnectionString))
            {
                var output = await OutputAfterStartAsync(asOwner);
                Assert.Equal(1, Count(output, Warning));
                Assert.Contains("PostgreSQL without StoreOwner (STELE_STOREOWNER)", output, StringComparison.Ordinal);
            }

            var store = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Username = role, Password = "app-" + Guid.NewGuid().ToString("N") }.ConnectionString;
            using (var asApplication = await ServerProcess.StartAsync(dataDirectory, store: store, environment: new Dictionary<string, string> { ["STELE_STOREOWNER"] = database.ConnectionString }))
            {
                var output = await OutputAfterStartAsync(asApplication);
                Assert.Contains("Provisioned the application role", output, StringComparison.Ordinal);
                Assert.Equal(0, Count(output, Warning));
            }
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await database.DisposeAsync();
            await PostgresDatabase.ExecuteAsync(PostgresEnvironment.RequireConnectionString(), $"DROP ROLE IF EXISTS \"{role}\";");
            try
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The console logger writes from a background queue: wait for the store-opened line, which follows the warning.</summary>
    private static async Task<string> OutputAfterStartAsync(ServerProcess server)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!server.Output.Contains("Store opened", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        return server.Output;
    }

    private static int Count(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

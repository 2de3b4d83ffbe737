using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;
using Stele.EndToEnd.Tests.Postgres;

namespace Stele.EndToEnd.Tests.MultiNode;

[Collection(MultiNodeCollection.Name)]
public sealed class ProvisioningTests
{
    [PostgresFact]
    public async Task With_an_owner_connection_the_server_runs_as_a_role_that_cannot_change_events()
    {
        var database = await PostgresDatabase.CreateAsync();
        var role = "stele_app_" + Guid.NewGuid().ToString("N")[..8];
        var store = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Username = role, Password = "app-" + Guid.NewGuid().ToString("N") }.ConnectionString;
        var dataDirectory = Path.Combine(Path.GetTempPath(), "stele-e2e-provisioning", Guid.NewGuid().ToString("N"));
        try
        {
            using (var server = await ServerProcess.StartAsync(dataDirectory, store: store, environment: new Dictionary<string, string> { ["STELE_STOREOWNER"] = database.ConnectionString }))
            {
                Assert.Contains($"PostgreSQL {role}@", server.Output, StringComparison.Ordinal);
                Assert.Contains("(password redacted)", server.Output, StringComparison.Ordinal);
                Assert.DoesNotContain(new NpgsqlConnectionStringBuilder(store).Password!, server.Output, StringComparison.Ordinal);

                using var http = new HttpClient { BaseAddress = server.Address };
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminKey);
                using var response = await http.PostAsJsonAsync("api/v1/events", new { actor_id = "u1", action = "provisioning.test" });
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }

            // The role the server connected as may read and insert, and nothing more.
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(store) { Pooling = false }.ConnectionString);
            await connection.OpenAsync();
            await using (var count = new NpgsqlCommand("SELECT count(*) FROM events;", connection))
            {
                Assert.True((long)(await count.ExecuteScalarAsync())! >= 1);
            }

            foreach (var statement in new[] { "DELETE FROM events;", "UPDATE events SET id = 'x';", "TRUNCATE checkpoints;", "CREATE TABLE sneaky (id int);" })
            {
                await using var command = new NpgsqlCommand(statement, connection);
                var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
                Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
            }
        }
        finally
        {
            // The role outlives the database it was granted rights in; drop it once the database is gone.
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
}

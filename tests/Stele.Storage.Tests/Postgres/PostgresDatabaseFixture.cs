using System.Collections.Concurrent;
using System.Globalization;
using Npgsql;
using Stele.Storage.Postgres;

namespace Stele.Storage.Tests.Postgres;

/// <summary>
/// One fresh database per test class (<c>stele_test_&lt;random&gt;</c>), dropped afterwards, with
/// one fresh schema per store so tests in a class do not see each other's rows.
/// </summary>
public sealed class PostgresDatabaseFixture : IAsyncLifetime
{
    private readonly List<string> _roles = [];
    private readonly ConcurrentDictionary<ISteleStore, string> _storeConnections = new();
    private string? _adminConnectionString;
    private int _schemas;

    public string DatabaseName { get; } = "stele_test_" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Superuser connection string to this class's database (search path: public).</summary>
    public string SuperuserConnectionString { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        if (PostgresEnvironment.SkipReason is not null)
        {
            return;
        }

        _adminConnectionString = PostgresEnvironment.RequireConnectionString();
        await ExecuteAsync(_adminConnectionString, $"CREATE DATABASE \"{DatabaseName}\" ENCODING 'UTF8' TEMPLATE template0;").ConfigureAwait(false);
        SuperuserConnectionString = new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = DatabaseName, Pooling = false }.ConnectionString;

        // Extensions are per database: install them once in public, which every store's search path includes.
        await ExecuteAsync(SuperuserConnectionString, "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;").ConfigureAwait(false);
    }

    /// <summary>Creates an empty schema (owned by <paramref name="owner"/> if given) and returns a connection string whose search path starts there.</summary>
    public async Task<string> CreateSchemaAsync(string? owner = null, string? username = null)
    {
        var schema = "s" + Interlocked.Increment(ref _schemas).ToString(CultureInfo.InvariantCulture);
        var authorization = owner is null ? string.Empty : $" AUTHORIZATION \"{owner}\"";
        await ExecuteAsync(SuperuserConnectionString, $"CREATE SCHEMA {schema}{authorization};").ConfigureAwait(false);
        return ConnectionStringFor(schema, username);
    }

    /// <summary>An initialized store in a fresh schema of this database (what the conformance suites test).</summary>
    public async Task<PostgresSteleStore> CreateStoreAsync()
    {
        var connectionString = await CreateSchemaAsync().ConfigureAwait(false);
        var store = new PostgresSteleStore(connectionString);
        await store.InitializeAsync(CancellationToken.None).ConfigureAwait(false);
        _storeConnections[store] = connectionString;
        return store;
    }

    /// <summary>A second store on the schema of one made by <see cref="CreateStoreAsync"/>, as another node would open it.</summary>
    public PostgresSteleStore OpenSameDatabase(ISteleStore store) => new(_storeConnections[store]);

    public string ConnectionStringFor(string schema, string? username = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(SuperuserConnectionString) { SearchPath = schema + ",public", Pooling = true };
        if (username is not null)
        {
            builder.Username = username;
            builder.Password = null;
        }

        return builder.ConnectionString;
    }

    /// <summary>Creates a login role for this class; it is dropped with the database.</summary>
    public async Task<string> CreateRoleAsync(string purpose)
    {
        var role = $"stele_{purpose}_{Guid.NewGuid().ToString("N")[..8]}";
        lock (_roles)
        {
            _roles.Add(role);
        }

        await ExecuteAsync(SuperuserConnectionString, $"CREATE ROLE \"{role}\" LOGIN;").ConfigureAwait(false);
        return role;
    }

    /// <summary>Remembers a role created elsewhere (e.g. by provisioning) so it is dropped at the end.</summary>
    public void TrackRole(string role)
    {
        lock (_roles)
        {
            _roles.Add(role);
        }
    }

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    public async Task DisposeAsync()
    {
        if (_adminConnectionString is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(_adminConnectionString, $"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE);").ConfigureAwait(false);
        foreach (var role in _roles)
        {
            await ExecuteAsync(_adminConnectionString, $"DROP ROLE IF EXISTS \"{role}\";").ConfigureAwait(false);
        }
    }
}

using Stele.Storage.Postgres;
using Stele.Storage.Tests.Postgres;

namespace Stele.Storage.Tests.Alerts;

/// <summary>The detection conformance suite on real PostgreSQL: one database for the class, one schema per store.</summary>
[RequiresPostgres]
public sealed class PostgresAlertStoreConformanceTests : AlertStoreConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresDatabaseFixture _database;
    private readonly Dictionary<ISteleStore, string> _connectionStrings = [];

    public PostgresAlertStoreConformanceTests(PostgresDatabaseFixture database)
    {
        _database = database;
    }

    protected override async Task<ISteleStore> CreateStoreAsync()
    {
        var connectionString = await _database.CreateSchemaAsync();
        var store = new PostgresSteleStore(connectionString);
        await store.InitializeAsync(CancellationToken.None);
        _connectionStrings[store] = connectionString;
        return store;
    }

    protected override ISteleStore OpenSameDatabase(ISteleStore store) => new PostgresSteleStore(_connectionStrings[store]);
}

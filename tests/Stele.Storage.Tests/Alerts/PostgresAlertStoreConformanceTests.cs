using Stele.Storage.Tests.Postgres;

namespace Stele.Storage.Tests.Alerts;

/// <summary>The detection conformance suite on real PostgreSQL: one database for the class, one schema per store.</summary>
[RequiresPostgres]
public sealed class PostgresAlertStoreConformanceTests : AlertStoreConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresDatabaseFixture _database;

    public PostgresAlertStoreConformanceTests(PostgresDatabaseFixture database)
    {
        _database = database;
    }

    protected override async Task<ISteleStore> CreateStoreAsync() => await _database.CreateStoreAsync();

    protected override ISteleStore OpenSameDatabase(ISteleStore store) => _database.OpenSameDatabase(store);
}

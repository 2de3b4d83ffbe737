using Npgsql;
using Stele.Storage.Postgres;

namespace Stele.Storage.Tests.Postgres;

/// <summary>The conformance suite on real PostgreSQL: one database for the class, one schema per store.</summary>
[RequiresPostgres]
public sealed class PostgresStoreConformanceTests : StoreConformanceTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly PostgresDatabaseFixture _database;

    public PostgresStoreConformanceTests(PostgresDatabaseFixture database)
    {
        _database = database;
    }

    protected override async Task<ISteleStore> CreateStoreAsync() => await _database.CreateStoreAsync();

    protected override ISteleStore OpenSameDatabase(ISteleStore store) => _database.OpenSameDatabase(store);

    protected override async Task<int> ExecuteRawAsync(ISteleStore store, string sql)
    {
        await using var command = ((PostgresSteleStore)store).DataSource.CreateCommand(sql);
        return await command.ExecuteNonQueryAsync();
    }
}

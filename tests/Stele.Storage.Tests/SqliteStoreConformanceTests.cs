using Microsoft.Data.Sqlite;
using Stele.Storage.Sqlite;

namespace Stele.Storage.Tests;

/// <summary>The conformance suite on the embedded backend: one fresh database file per test.</summary>
public sealed class SqliteStoreConformanceTests : StoreConformanceTests, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "stele-storage-tests-" + Guid.NewGuid().ToString("N"));

    protected override async Task<ISteleStore> CreateStoreAsync()
    {
        var store = new SqliteSteleStore(Path.Combine(_directory, "stele.db"));
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    protected override ISteleStore OpenSameDatabase(ISteleStore store) =>
        new SqliteSteleStore(((SqliteSteleStore)store).DatabasePath);

    protected override async Task<int> ExecuteRawAsync(ISteleStore store, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={((SqliteSteleStore)store).DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteNonQueryAsync();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}

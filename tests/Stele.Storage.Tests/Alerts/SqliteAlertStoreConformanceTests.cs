using Microsoft.Data.Sqlite;
using Stele.Storage.Sqlite;

namespace Stele.Storage.Tests.Alerts;

/// <summary>The detection conformance suite on the embedded backend: one fresh database file per test.</summary>
public sealed class SqliteAlertStoreConformanceTests : AlertStoreConformanceTests, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "stele-alert-store-tests-" + Guid.NewGuid().ToString("N"));

    protected override async Task<ISteleStore> CreateStoreAsync()
    {
        var store = new SqliteSteleStore(Path.Combine(_directory, "stele.db"));
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    protected override ISteleStore OpenSameDatabase(ISteleStore store) => new SqliteSteleStore(((SqliteSteleStore)store).DatabasePath);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}

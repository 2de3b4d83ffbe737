using Stele.Storage.Postgres;
using Stele.Storage.Sqlite;

namespace Stele.Storage;

/// <summary>
/// Chooses the backend from one setting: empty or <c>sqlite</c> for the embedded file under the
/// data directory, a <c>postgres://</c> / <c>postgresql://</c> URL or an Npgsql connection string
/// for PostgreSQL.
/// </summary>
public static class StoreFactory
{
    /// <summary>The SQLite file name under the data directory.</summary>
    public const string SqliteFileName = "stele.db";

    /// <summary>Creates (does not initialise) the store the setting names. Throws <see cref="ArgumentException"/> for a value that names neither backend.</summary>
    public static ISteleStore Create(string? store, string dataDirectory)
    {
        var value = store?.Trim();
        if (string.IsNullOrEmpty(value) || string.Equals(value, "sqlite", StringComparison.OrdinalIgnoreCase))
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
            return new SqliteSteleStore(Path.Combine(dataDirectory, SqliteFileName));
        }

        if (PostgresConnectionString.IsUrl(value) || (value.Contains('=', StringComparison.Ordinal) && !value.Contains("://", StringComparison.Ordinal)))
        {
            return new PostgresSteleStore(PostgresConnectionString.Normalize(value));
        }

        throw new ArgumentException(
            "The store setting must be empty or 'sqlite' (embedded), a postgres:// or postgresql:// URL, or an Npgsql connection string such as 'Host=db;Database=stele;Username=stele'.",
            nameof(store));
    }
}

using Npgsql;
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

    private const string NotAStoreMessage =
        "The store setting must be empty or 'sqlite' (embedded), a postgres:// or postgresql:// URL, or an Npgsql connection string such as 'Host=db;Database=stele;Username=stele'.";

    /// <summary>Creates (does not initialise) the store the setting names. Throws <see cref="ArgumentException"/> for a value that names neither backend.</summary>
    public static ISteleStore Create(string? store, string dataDirectory)
    {
        if (IsSqlite(store))
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
            return new SqliteSteleStore(Path.Combine(dataDirectory, SqliteFileName));
        }

        return new PostgresSteleStore(NormalizePostgres(store!));
    }

    /// <summary>True for an empty setting or <c>sqlite</c>.</summary>
    public static bool IsSqlite(string? store)
    {
        var value = store?.Trim();
        return string.IsNullOrEmpty(value) || string.Equals(value, "sqlite", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Throws <see cref="ArgumentException"/> (whose message never repeats the value) if the setting names neither backend.</summary>
    public static void Validate(string? store)
    {
        if (!IsSqlite(store))
        {
            _ = NormalizePostgres(store!);
        }
    }

    /// <summary>
    /// What the setting names, for banners and logs, without any password:
    /// <c>SQLite /var/lib/stele/stele.db</c> or <c>PostgreSQL stele@db.example:5432/audit</c>.
    /// </summary>
    public static string Describe(string? store, string dataDirectory)
    {
        if (IsSqlite(store))
        {
            return $"SQLite {Path.GetFullPath(Path.Combine(dataDirectory, SqliteFileName))}";
        }

        var builder = new NpgsqlConnectionStringBuilder(NormalizePostgres(store!));
        var user = string.IsNullOrEmpty(builder.Username) ? string.Empty : builder.Username + "@";
        var password = string.IsNullOrEmpty(builder.Password) ? string.Empty : " (password redacted)";
        return $"PostgreSQL {user}{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}{password}";
    }

    /// <summary>
    /// Migrates a PostgreSQL database with <paramref name="ownerConnection"/> and creates or updates
    /// the application role that <paramref name="store"/> logs in as (its user name and password),
    /// with SELECT and INSERT rights only (see <see cref="PostgresProvisioning"/>). Throws
    /// <see cref="ArgumentException"/> if the settings do not name one database and a role with a password.
    /// </summary>
    public static async Task ProvisionApplicationRoleAsync(string store, string ownerConnection, CancellationToken cancellationToken)
    {
        var (application, owner) = ParseProvisioning(store, ownerConnection);
        await PostgresProvisioning.EnsureApplicationRoleAsync(owner.ConnectionString, application.Username!, application.Password!, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checks the store and owner settings for <see cref="ProvisionApplicationRoleAsync"/> without connecting.</summary>
    public static void ValidateProvisioning(string? store, string? ownerConnection) => ParseProvisioning(store, ownerConnection);

    private static (NpgsqlConnectionStringBuilder Application, NpgsqlConnectionStringBuilder Owner) ParseProvisioning(string? store, string? ownerConnection)
    {
        if (IsSqlite(store))
        {
            throw new ArgumentException("An owner connection is only used with a PostgreSQL store.", nameof(store));
        }

        if (string.IsNullOrWhiteSpace(ownerConnection))
        {
            throw new ArgumentException("The owner connection is empty.", nameof(ownerConnection));
        }

        var application = new NpgsqlConnectionStringBuilder(NormalizePostgres(store!));
        NpgsqlConnectionStringBuilder owner;
        try
        {
            owner = new NpgsqlConnectionStringBuilder(NormalizePostgres(ownerConnection));
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException("The owner connection: " + ex.Message, nameof(ownerConnection), ex);
        }

        if (string.IsNullOrEmpty(application.Username) || string.IsNullOrEmpty(application.Password))
        {
            throw new ArgumentException("With an owner connection, the store connection must name the application role's user name and password (the role is created or updated with them).", nameof(store));
        }

        if (!string.Equals(application.Host, owner.Host, StringComparison.OrdinalIgnoreCase) || application.Port != owner.Port ||
            !string.Equals(application.Database ?? application.Username, owner.Database ?? owner.Username, StringComparison.Ordinal))
        {
            throw new ArgumentException("The owner connection must point at the same host, port and database as the store connection.", nameof(ownerConnection));
        }

        if (string.Equals(application.Username, owner.Username, StringComparison.Ordinal))
        {
            throw new ArgumentException("The store connection must log in as the application role, not as the owner.", nameof(store));
        }

        return (application, owner);
    }

    private static string NormalizePostgres(string value)
    {
        value = value.Trim();
        if (PostgresConnectionString.IsUrl(value) || (value.Contains('=', StringComparison.Ordinal) && !value.Contains("://", StringComparison.Ordinal)))
        {
            return PostgresConnectionString.Normalize(value);
        }

        throw new ArgumentException(NotAStoreMessage, nameof(value));
    }
}

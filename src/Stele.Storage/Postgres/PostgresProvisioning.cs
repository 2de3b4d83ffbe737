using System.Text.RegularExpressions;
using Npgsql;

namespace Stele.Storage.Postgres;

/// <summary>
/// Sets up the least-privileged role the Stele server connects as (DESIGN.md, Storage: "on
/// PostgreSQL an application role without UPDATE/DELETE rights"). Run once with an owner
/// connection (the role that owns, or will own, Stele's tables); afterwards the server connects
/// with the application role's credentials only.
/// </summary>
/// <remarks>
/// The application role gets: CONNECT on the database, USAGE on the schema, SELECT and INSERT on
/// every Stele table, UPDATE on <c>api_keys</c> only (revoking a key), SELECT on
/// <c>stele_schema</c>. It never gets UPDATE, DELETE or TRUNCATE on events, payloads, targets,
/// search text, tree nodes or checkpoints; the append-only triggers reject those for every role
/// anyway, so the two guards back each other up. Because it cannot run DDL, schema migrations are
/// applied here, with the owner connection, before the grants.
/// </remarks>
public static partial class PostgresProvisioning
{
    /// <summary>Migrates the schema with the owner connection, then creates or updates the application role and its grants. Idempotent.</summary>
    public static async Task EnsureApplicationRoleAsync(string ownerConnectionString, string roleName, string password, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerConnectionString);
        ArgumentException.ThrowIfNullOrEmpty(password);
        if (roleName is null || !RoleNamePattern().IsMatch(roleName))
        {
            throw new ArgumentException("The application role name must match ^[a-z_][a-z0-9_]{0,62}$.", nameof(roleName));
        }

        await using (var store = new PostgresSteleStore(ownerConnectionString))
        {
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var dataSource = NpgsqlDataSource.Create(ownerConnectionString);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // DDL takes no bind parameters; format() with %I and %L quotes the name and the password
        // on the server, so neither is ever spliced into SQL by hand.
        var statements = new List<string>
        {
            await FormatAsync(
                connection,
                transaction,
                "SELECT format(CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) THEN 'ALTER ROLE %I LOGIN PASSWORD %L' ELSE 'CREATE ROLE %I LOGIN PASSWORD %L' END, $1, $2);",
                [roleName, password],
                cancellationToken).ConfigureAwait(false),
            await FormatAsync(connection, transaction, "SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), $1);", [roleName], cancellationToken).ConfigureAwait(false),
            await FormatAsync(connection, transaction, "SELECT format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), $1);", [roleName], cancellationToken).ConfigureAwait(false),
            $"GRANT SELECT ON stele_schema TO \"{roleName}\"",
        };

        foreach (var table in PostgresSchema.ApplicationTables)
        {
            // Revoke first so a role that was granted more by hand ends with exactly this set.
            statements.Add($"REVOKE ALL ON {table} FROM \"{roleName}\"");
            statements.Add($"GRANT SELECT, INSERT ON {table} TO \"{roleName}\"");
        }

        foreach (var table in PostgresSchema.UpdatableTables)
        {
            statements.Add($"GRANT UPDATE ON {table} TO \"{roleName}\"");
        }

        foreach (var table in PostgresSchema.DeletableTables)
        {
            statements.Add($"GRANT DELETE ON {table} TO \"{roleName}\"");
        }

        foreach (var statement in statements)
        {
            await using var command = new NpgsqlCommand(statement, connection, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string> FormatAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, string[] arguments, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var argument in arguments)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = argument });
        }

        return (string)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    // Lower-case identifiers only, so the quoted name in the GRANTs equals the name PostgreSQL stores.
    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex RoleNamePattern();
}

using Npgsql;
using Stele.Storage.Postgres;

namespace Stele.Storage.Tests.Postgres;

/// <summary>The upgrade from schema version 1 on real PostgreSQL: the current rows are written in one schema and copied into another that migration 1 alone created.</summary>
[RequiresPostgres]
public sealed class PostgresSchemaMigrationTests(PostgresDatabaseFixture database) : SchemaMigrationTests, IClassFixture<PostgresDatabaseFixture>
{
    private readonly Dictionary<ISteleStore, string> _connectionStrings = [];

    protected override int CurrentVersion => PostgresSchema.CurrentVersion;

    protected override async Task<ISteleStore> CreateVersionOneDatabaseAsync(Func<ISteleStore, Task> fill)
    {
        var sourceConnection = await database.CreateSchemaAsync();
        var source = SchemaOf(sourceConnection);
        await using (var current = new PostgresSteleStore(sourceConnection))
        {
            await current.InitializeAsync(CancellationToken.None);
            await fill(current);
        }

        var connectionString = await database.CreateSchemaAsync();
        var target = SchemaOf(connectionString);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await ExecuteAsync(connection, transaction, "CREATE TABLE stele_schema (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL); INSERT INTO stele_schema VALUES (1, 1);");
        await ExecuteAsync(connection, transaction, PostgresSchema.Migrations[0]);

        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name <> 'stele_schema' ORDER BY table_name <> 'ledgers', table_name;",
            connection, transaction))
        {
            list.Parameters.Add(new NpgsqlParameter { Value = target });
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        foreach (var table in tables)
        {
            var columns = new List<string>();
            var identity = false;
            await using (var describe = new NpgsqlCommand(
                "SELECT column_name, is_identity FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position;",
                connection, transaction))
            {
                describe.Parameters.Add(new NpgsqlParameter { Value = target });
                describe.Parameters.Add(new NpgsqlParameter { Value = table });
                await using var reader = await describe.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    columns.Add(reader.GetString(0));
                    identity |= reader.GetString(1) == "YES";
                }
            }

            var list = string.Join(", ", columns);
            await ExecuteAsync(connection, transaction,
                $"INSERT INTO {target}.{table} ({list}) {(identity ? "OVERRIDING SYSTEM VALUE " : string.Empty)}SELECT {list} FROM {source}.{table};");
        }

        // What the older code's inserts would have left: the identity sequence past the copied ids.
        await ExecuteAsync(connection, transaction, $"SELECT setval(pg_get_serial_sequence('{target}.ledgers', 'id'), (SELECT max(id) FROM {target}.ledgers));");
        await transaction.CommitAsync();

        var store = new PostgresSteleStore(connectionString);
        _connectionStrings[store] = connectionString;
        return store;
    }

    protected override async Task<int> ReadSchemaVersionAsync(ISteleStore store)
    {
        await using var command = ((PostgresSteleStore)store).DataSource.CreateCommand("SELECT version FROM stele_schema WHERE id = 1;");
        return (int)(await command.ExecuteScalarAsync())!;
    }

    protected override async Task<ISteleStore> ReopenAsync(ISteleStore store)
    {
        var again = new PostgresSteleStore(_connectionStrings[store]);
        _connectionStrings[again] = _connectionStrings[store];
        await again.InitializeAsync(CancellationToken.None);
        return again;
    }

    private static string SchemaOf(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString).SearchPath!.Split(',')[0];

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync();
    }
}

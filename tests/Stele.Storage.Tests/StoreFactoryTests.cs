using Npgsql;
using Stele.Storage.Postgres;
using Stele.Storage.Sqlite;

namespace Stele.Storage.Tests;

public sealed class StoreFactoryTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("sqlite")]
    [InlineData("SQLite")]
    public async Task No_setting_or_sqlite_means_the_embedded_file_in_the_data_directory(string? setting)
    {
        await using var store = StoreFactory.Create(setting, "/var/lib/stele");

        var sqlite = Assert.IsType<SqliteSteleStore>(store);
        Assert.Equal("/var/lib/stele/stele.db", sqlite.DatabasePath);
    }

    [Theory]
    [InlineData("postgres://stele:s3cr%40t@db.example:6543/audit?sslmode=require")]
    [InlineData("postgresql://stele:s3cr%40t@db.example:6543/audit?sslmode=require")]
    [InlineData("Host=db.example;Port=6543;Database=audit;Username=stele;Password=s3cr@t;SSL Mode=Require")]
    public async Task A_postgres_url_or_connection_string_means_postgres(string setting)
    {
        await using var store = StoreFactory.Create(setting, "/unused");
        Assert.IsType<PostgresSteleStore>(store);

        var builder = new NpgsqlConnectionStringBuilder(PostgresConnectionString.Normalize(setting));
        Assert.Equal("db.example", builder.Host);
        Assert.Equal(6543, builder.Port);
        Assert.Equal("audit", builder.Database);
        Assert.Equal("stele", builder.Username);
        Assert.Equal("s3cr@t", builder.Password);
        Assert.Equal(SslMode.Require, builder.SslMode);
    }

    [Fact]
    public void A_url_converts_every_supported_part()
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresConnectionString.Normalize(
            "postgres://u@[::1]/my%20db?sslmode=verify-full&application_name=stele+node&connect_timeout=7"));

        Assert.Equal("::1", builder.Host);
        Assert.Equal(5432, builder.Port);
        Assert.Equal("my db", builder.Database);
        Assert.Equal("u", builder.Username);
        Assert.Null(builder.Password);
        Assert.Equal(SslMode.VerifyFull, builder.SslMode);
        Assert.Equal("stele node", builder.ApplicationName);
        Assert.Equal(7, builder.Timeout);
    }

    [Theory]
    [InlineData("mysql://db/stele")]
    [InlineData("stele.db")]
    [InlineData("postgres://")]
    [InlineData("postgres://db/stele?sslmode=sometimes")]
    [InlineData("postgres://db/stele?colour=blue")]
    [InlineData("Host=db;Flavour=vanilla")]
    [InlineData("Database=stele;Username=u")]
    public void Anything_else_is_refused_with_a_clear_message(string setting)
    {
        var error = Assert.Throws<ArgumentException>(() => StoreFactory.Create(setting, "/unused"));

        Assert.Contains(setting.StartsWith("postgres", StringComparison.Ordinal) || setting.Contains('=', StringComparison.Ordinal) ? "PostgreSQL" : "store setting", error.Message, StringComparison.Ordinal);
    }
}

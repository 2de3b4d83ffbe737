using Stele.Storage.Postgres;

namespace Stele.EndToEnd.Tests.Postgres;

/// <summary>
/// Where the PostgreSQL tests find a server: <c>STELE_TEST_POSTGRES</c>, a connection string or URL
/// to a superuser on a throwaway cluster (scripts/test-deps.sh starts one). Without it the tests
/// are skipped locally and fail under <c>CI=true</c> (the same rule as tests/Stele.Storage.Tests).
/// </summary>
internal static class PostgresEnvironment
{
    public const string Variable = "STELE_TEST_POSTGRES";

    public static string? ConnectionString { get; } = Read();

    public static bool IsCi { get; } = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Null when the tests must run (a server is configured, or CI requires them).</summary>
    public static string? SkipReason =>
        ConnectionString is null && !IsCi
            ? $"{Variable} is not set; run ./test.sh or `source <(scripts/test-deps.sh start)` to run the PostgreSQL tests."
            : null;

    public static string RequireConnectionString() =>
        ConnectionString ?? throw new InvalidOperationException(
            $"CI=true but {Variable} is not set: the PostgreSQL tests must run in CI. Start a server with scripts/test-deps.sh start.");

    private static string? Read()
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        return string.IsNullOrWhiteSpace(value) ? null : PostgresConnectionString.Normalize(value);
    }
}

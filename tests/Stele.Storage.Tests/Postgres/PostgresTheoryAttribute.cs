namespace Stele.Storage.Tests.Postgres;

/// <summary>A theory that needs PostgreSQL: skipped locally without <c>STELE_TEST_POSTGRES</c>, run (and failing) under <c>CI=true</c>.</summary>
public sealed class PostgresTheoryAttribute : TheoryAttribute
{
    public PostgresTheoryAttribute()
    {
        Skip = PostgresEnvironment.SkipReason!;
    }
}

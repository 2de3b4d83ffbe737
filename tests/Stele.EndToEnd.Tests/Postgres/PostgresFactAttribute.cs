namespace Stele.EndToEnd.Tests.Postgres;

/// <summary>A fact that needs PostgreSQL: skipped locally without <c>STELE_TEST_POSTGRES</c>, run (and failing) under <c>CI=true</c>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        Skip = PostgresEnvironment.SkipReason!;
    }
}

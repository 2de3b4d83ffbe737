namespace Stele.Storage.Tests.Postgres;

/// <summary>
/// Marks a test class whose inherited <see cref="StoreFactAttribute"/> tests need PostgreSQL, so
/// the shared conformance suite is skipped or required by the same rule as <see cref="PostgresFactAttribute"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RequiresPostgresAttribute : Attribute;

using Xunit.Sdk;

namespace Stele.Storage.Tests;

/// <summary>
/// A conformance fact. Its skip rule depends on the concrete test class (see
/// <see cref="Postgres.RequiresPostgresAttribute"/>), which an attribute on the shared base class
/// cannot know; <see cref="StoreFactDiscoverer"/> decides per class.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
[XunitTestCaseDiscoverer("Stele.Storage.Tests.StoreFactDiscoverer", "Stele.Storage.Tests")]
public sealed class StoreFactAttribute : FactAttribute;

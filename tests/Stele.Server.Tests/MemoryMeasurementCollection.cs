namespace Stele.Server.Tests;

/// <summary>
/// Tests that measure the process's live heap run in this collection, which xUnit runs on its own
/// after the parallel ones: another test's allocations would otherwise count as theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    public const string Name = "memory measurement";
}

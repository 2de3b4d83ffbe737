namespace Stele.EndToEnd.Tests.MultiNode;

/// <summary>The multi-node tests each start several server processes; they run one at a time so their timings stay meaningful.</summary>
[CollectionDefinition(Name)]
public sealed class MultiNodeCollection
{
    public const string Name = "multi-node";
}

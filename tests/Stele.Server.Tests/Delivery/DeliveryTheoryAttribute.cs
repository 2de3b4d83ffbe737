namespace Stele.Server.Tests.Delivery;

/// <summary>A theory that needs an outside program: skipped locally without it, run (and failing) under <c>CI=true</c>.</summary>
public sealed class DeliveryTheoryAttribute : TheoryAttribute
{
    public DeliveryTheoryAttribute(DeliveryDependency dependency)
    {
        Skip = DeliveryEnvironment.SkipReason(dependency)!;
    }
}

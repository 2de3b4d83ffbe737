namespace Stele.Server.Tests.Delivery;

/// <summary>A fact that needs an outside program: skipped locally without it, run (and failing) under <c>CI=true</c>.</summary>
public sealed class DeliveryFactAttribute : FactAttribute
{
    public DeliveryFactAttribute(DeliveryDependency dependency)
    {
        Skip = DeliveryEnvironment.SkipReason(dependency)!;
    }
}

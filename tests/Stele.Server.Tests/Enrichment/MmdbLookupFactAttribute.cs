namespace Stele.Server.Tests.Enrichment;

/// <summary>A theory that runs <c>mmdblookup</c>: skipped locally without it, run (and failing) under <c>CI=true</c>.</summary>
public sealed class MmdbLookupTheoryAttribute : TheoryAttribute
{
    public MmdbLookupTheoryAttribute()
    {
        Skip = MmdbLookup.SkipReason!;
    }
}

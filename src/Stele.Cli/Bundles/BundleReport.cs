namespace Stele.Cli.Bundles;

/// <summary>The outcome of checking an export bundle offline.</summary>
internal sealed class BundleReport
{
    /// <summary>At most this many failures are kept (all are counted), so memory stays bounded.</summary>
    public const int MaxKeptFailures = 1000;

    private readonly List<BundleFailure> _failures = [];

    public string? Ledger { get; set; }

    public long? TreeSize { get; set; }

    public long EventsChecked { get; set; }

    /// <summary>True when the bundle's (unsigned) request has no filters, so it must cover the whole checkpoint.</summary>
    public bool Unfiltered { get; set; }

    public long PayloadsErased { get; set; }

    public long FailureCount { get; private set; }

    public IReadOnlyList<BundleFailure> Failures => _failures;

    public bool IsValid => FailureCount == 0;

    public void Add(BundleFailure failure)
    {
        FailureCount++;
        if (_failures.Count < MaxKeptFailures)
        {
            _failures.Add(failure);
        }
    }
}

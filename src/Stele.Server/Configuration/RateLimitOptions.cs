namespace Stele.Server.Configuration;

/// <summary>Token-bucket limits on API requests; 0 turns a limit off.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Sustained requests per second allowed for one API key.</summary>
    public int PerKeyPerSecond { get; set; } = 1000;

    /// <summary>Requests one API key may make in a burst above the sustained rate.</summary>
    public int PerKeyBurst { get; set; } = 2000;

    /// <summary>Sustained requests per second allowed for one ledger, across all keys.</summary>
    public int PerLedgerPerSecond { get; set; } = 5000;

    /// <summary>Requests one ledger may take in a burst above the sustained rate.</summary>
    public int PerLedgerBurst { get; set; } = 10000;
}

namespace Stele.Server.Configuration;

/// <summary>Detection settings (section <c>Alerts</c>, e.g. <c>STELE_ALERTS__RULEQUOTAPERLEDGER</c>).</summary>
public sealed class AlertOptions
{
    /// <summary>How often rules look for events appended by other nodes (local commits wake them at once).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Alert rules a ledger may have (the built-in integrity rule does not count).</summary>
    public int RuleQuotaPerLedger { get; set; } = 100;

    /// <summary>Alert destinations (webhooks, email lists) a ledger may have.</summary>
    public int DestinationQuotaPerLedger { get; set; } = 20;

    /// <summary>How long a rotated-out webhook secret keeps signing next to the new one.</summary>
    public TimeSpan SecretRotationOverlap { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Pause between two passes of the tamper monitor over every ledger.</summary>
    public TimeSpan TamperCheckInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a node holds a claimed delivery before another node may retry it.</summary>
    public TimeSpan DeliveryLease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often the delivery worker looks for due deliveries when nothing woke it.</summary>
    public TimeSpan DeliveryPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts per delivery, the first included, before it is given up.</summary>
    public int DeliveryMaxAttempts { get; set; } = 20;

    /// <summary>The first retry waits up to this long; each further one up to twice as long (full jitter).</summary>
    public TimeSpan DeliveryBaseDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between two attempts.</summary>
    public TimeSpan DeliveryMaxDelay { get; set; } = TimeSpan.FromHours(6);
}

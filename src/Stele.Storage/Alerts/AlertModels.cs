// Alert storage records are plain data carriers shared by every backend; they live together so the
// contract reads in one place (as Models.cs does for events).
#pragma warning disable MA0048 // file name must match type name: these records form one contract.
namespace Stele.Storage.Alerts;

/// <summary>An alert rule of a ledger. <see cref="Parameters"/> is the rule's JSON object, validated by the server.</summary>
public sealed record AlertRuleRecord
{
    public required string Id { get; init; }
    public required long LedgerId { get; init; }

    /// <summary><c>new_country</c>, <c>high_volume_destructive</c>, <c>ingestion_spike</c>, <c>repeated_action</c>, <c>off_hours</c> or <c>integrity_violation</c>.</summary>
    public required string Type { get; init; }
    public required string Name { get; init; }
    public required string Parameters { get; init; }

    /// <summary>Ids of the destinations each new alert of this rule is delivered to.</summary>
    public required IReadOnlyList<string> Destinations { get; init; }
    public required bool Enabled { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>Where alerts go: a webhook URL (signed with its secrets) or email recipients.</summary>
public sealed record AlertDestinationRecord
{
    public const string Active = "active";
    public const string Disabled = "disabled";

    public required string Id { get; init; }
    public required long LedgerId { get; init; }

    /// <summary><c>webhook</c> or <c>email</c>.</summary>
    public required string Kind { get; init; }
    public required string Name { get; init; }

    /// <summary>The webhook URL, or the recipients joined by commas.</summary>
    public required string Target { get; init; }

    /// <summary>Webhook signing secrets as JSON (<c>[{"secret": "whsec_…", "expires_at": micros|null}]</c>); null for email. A secret.</summary>
    public string? Secrets { get; init; }
    public required string State { get; init; }
    public string? DisabledReason { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>
/// One raised alert. <see cref="DedupeKey"/> is unique per rule, so evaluating the same events
/// twice (after a crash, or on two nodes) cannot raise the same alert twice.
/// </summary>
public sealed record AlertRecord
{
    public required string Id { get; init; }
    public required long LedgerId { get; init; }
    public required string RuleId { get; init; }
    public required string RuleType { get; init; }
    public required string RuleName { get; init; }
    public required string DedupeKey { get; init; }

    /// <summary>The event that raised it, when one did.</summary>
    public long? Seq { get; init; }
    public string? EventId { get; init; }
    public string? ActorId { get; init; }

    /// <summary>A readable sentence, e.g. <c>Actor u_9 acted from DE for the first time</c>.</summary>
    public required string Reason { get; init; }

    /// <summary>A JSON object with the rule's evidence.</summary>
    public required string Details { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>An outbox row: one alert to one destination, retried until delivered or given up.</summary>
public sealed record AlertDeliveryRecord
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";

    public required string Id { get; init; }
    public required string AlertId { get; init; }
    public required string DestinationId { get; init; }
    public required long LedgerId { get; init; }
    public required string State { get; init; }
    public required int Attempts { get; init; }
    public required DateTimeOffset NextAttemptAt { get; init; }
    public DateTimeOffset? LeaseUntil { get; init; }
    public string? Worker { get; init; }
    public int? LastStatus { get; init; }
    public string? LastError { get; init; }
    public DateTimeOffset? DeliveredAt { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>One try of a delivery, for the delivery log.</summary>
public sealed record DeliveryAttemptRecord
{
    public required string DeliveryId { get; init; }
    public required int Attempt { get; init; }
    public required DateTimeOffset At { get; init; }

    /// <summary><c>delivered</c>, <c>retry</c>, <c>gone</c> or <c>failed</c>.</summary>
    public required string Outcome { get; init; }
    public int? StatusCode { get; init; }
    public required string Detail { get; init; }
    public required long DurationMillis { get; init; }
}

/// <summary>A change to a rule's durable state: a new value for a key, or null to remove it.</summary>
public sealed record RuleStateChange(string RuleId, string Key, string? Value);

/// <summary>Filters of <c>GET /alerts</c>, newest first.</summary>
public sealed record AlertQuery
{
    public string? RuleId { get; init; }
    public string? RuleType { get; init; }
    public string? EventId { get; init; }
    public string? ActorId { get; init; }

    /// <summary>Inclusive lower bound on created_at, in microseconds since the Unix epoch.</summary>
    public long? FromMicros { get; init; }

    /// <summary>Exclusive upper bound on created_at, in microseconds since the Unix epoch.</summary>
    public long? ToMicros { get; init; }

    /// <summary>Keyset position: only alerts with an id below this one.</summary>
    public string? BeforeId { get; init; }
    public int Limit { get; init; } = 50;
}

/// <summary>One page of alerts.</summary>
public sealed record AlertPage(IReadOnlyList<AlertRecord> Alerts, bool HasMore);

/// <summary>What one evaluation step writes, atomically, together with the ledger's evaluation cursor.</summary>
public sealed record AlertEvaluationBatch
{
    public IReadOnlyList<RuleStateChange> StateChanges { get; init; } = [];
    public IReadOnlyList<AlertRecord> Alerts { get; init; } = [];

    /// <summary>Outbox rows; those of an alert whose dedupe key already existed are not written.</summary>
    public IReadOnlyList<AlertDeliveryRecord> Deliveries { get; init; } = [];
}

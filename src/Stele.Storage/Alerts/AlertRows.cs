using System.Data.Common;
using System.Text.Json;

namespace Stele.Storage.Alerts;

/// <summary>
/// Reads the detection rows from either backend's reader. Both backends select the same columns in
/// the same order (times as microseconds since the Unix epoch), so one reader serves both.
/// </summary>
internal static class AlertRows
{
    public const string RuleColumns = "id, ledger_id, type, name, parameters, destinations, enabled, created_at, updated_at";
    public const string DestinationColumns = "id, ledger_id, kind, name, target, secrets, state, disabled_reason, created_at, updated_at";
    public const string AlertColumns = "id, ledger_id, rule_id, rule_type, rule_name, dedupe_key, seq, event_id, actor_id, reason, details, created_at";
    public const string DeliveryColumns =
        "id, alert_id, destination_id, ledger_id, state, attempts, next_attempt_at, lease_until, worker, last_status, last_error, delivered_at, created_at";
    public const string AttemptColumns = "a.delivery_id, a.attempt, a.at, a.outcome, a.status_code, a.detail, a.duration_ms";

    public static long Micros(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static DateTimeOffset FromMicros(long micros) => DateTimeOffset.UnixEpoch.AddTicks(micros * 10);

    public static AlertRuleRecord Rule(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        LedgerId = r.GetInt64(1),
        Type = r.GetString(2),
        Name = r.GetString(3),
        Parameters = r.GetString(4),
        Destinations = JsonSerializer.Deserialize<string[]>(r.GetString(5)) ?? [],

        // SQLite stores the flag as an integer, PostgreSQL as a boolean.
        Enabled = Convert.ToBoolean(r.GetValue(6), System.Globalization.CultureInfo.InvariantCulture),
        CreatedAt = FromMicros(r.GetInt64(7)),
        UpdatedAt = FromMicros(r.GetInt64(8)),
    };

    public static AlertDestinationRecord Destination(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        LedgerId = r.GetInt64(1),
        Kind = r.GetString(2),
        Name = r.GetString(3),
        Target = r.GetString(4),
        Secrets = Text(r, 5),
        State = r.GetString(6),
        DisabledReason = Text(r, 7),
        CreatedAt = FromMicros(r.GetInt64(8)),
        UpdatedAt = FromMicros(r.GetInt64(9)),
    };

    public static AlertRecord Alert(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        LedgerId = r.GetInt64(1),
        RuleId = r.GetString(2),
        RuleType = r.GetString(3),
        RuleName = r.GetString(4),
        DedupeKey = r.GetString(5),
        Seq = r.IsDBNull(6) ? null : r.GetInt64(6),
        EventId = Text(r, 7),
        ActorId = Text(r, 8),
        Reason = r.GetString(9),
        Details = r.GetString(10),
        CreatedAt = FromMicros(r.GetInt64(11)),
    };

    public static AlertDeliveryRecord Delivery(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        AlertId = r.GetString(1),
        DestinationId = r.GetString(2),
        LedgerId = r.GetInt64(3),
        State = r.GetString(4),
        Attempts = r.GetInt32(5),
        NextAttemptAt = FromMicros(r.GetInt64(6)),
        LeaseUntil = r.IsDBNull(7) ? null : FromMicros(r.GetInt64(7)),
        Worker = Text(r, 8),
        LastStatus = r.IsDBNull(9) ? null : r.GetInt32(9),
        LastError = Text(r, 10),
        DeliveredAt = r.IsDBNull(11) ? null : FromMicros(r.GetInt64(11)),
        CreatedAt = FromMicros(r.GetInt64(12)),
    };

    public static DeliveryAttemptRecord Attempt(DbDataReader r) => new()
    {
        DeliveryId = r.GetString(0),
        Attempt = r.GetInt32(1),
        At = FromMicros(r.GetInt64(2)),
        Outcome = r.GetString(3),
        StatusCode = r.IsDBNull(4) ? null : r.GetInt32(4),
        Detail = r.GetString(5),
        DurationMillis = r.GetInt64(6),
    };

    private static string? Text(DbDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);
}

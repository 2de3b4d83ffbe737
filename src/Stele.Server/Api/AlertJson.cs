using System.Text.Json;
using Stele.Server.Alerts;
using Stele.Storage.Alerts;

namespace Stele.Server.Api;

/// <summary>JSON shapes of alert rules, destinations, alerts and their delivery log.</summary>
internal static class AlertJson
{
    public static void WriteRule(Utf8JsonWriter w, string ledger, AlertRuleRecord rule)
    {
        w.WriteStartObject();
        w.WriteString("id", rule.Id);
        w.WriteString("ledger", ledger);
        w.WriteString("type", rule.Type);
        w.WriteString("name", rule.Name);
        w.WritePropertyName("parameters");
        using (var parameters = JsonDocument.Parse(rule.Parameters))
        {
            parameters.RootElement.WriteTo(w);
        }

        w.WriteStartArray("destinations");
        foreach (var destination in rule.Destinations)
        {
            w.WriteStringValue(destination);
        }

        w.WriteEndArray();
        w.WriteBoolean("enabled", rule.Enabled);
        w.WriteBoolean("built_in", rule.Type == AlertRuleFactory.IntegrityViolation);
        w.WriteString("created_at", AdminEndpoints.Time(rule.CreatedAt));
        w.WriteString("updated_at", AdminEndpoints.Time(rule.UpdatedAt));
        w.WriteEndObject();
    }

    public static void WriteDestination(Utf8JsonWriter w, string ledger, AlertDestinationRecord destination, DateTimeOffset now, string? newSecret = null)
    {
        w.WriteStartObject();
        w.WriteString("id", destination.Id);
        w.WriteString("ledger", ledger);
        w.WriteString("type", destination.Kind);
        w.WriteString("name", destination.Name);
        if (destination.Kind == "webhook")
        {
            w.WriteString("url", destination.Target);
            w.WriteStartArray("secrets");
            foreach (var (hint, expiresAt) in WebhookSecretSet.Parse(destination.Secrets).Describe(now))
            {
                w.WriteStartObject();
                w.WriteString("hint", hint);
                if (expiresAt is { } at)
                {
                    w.WriteString("expires_at", AdminEndpoints.Time(at));
                }
                else
                {
                    w.WriteNull("expires_at");
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (newSecret is not null)
            {
                // Shown once, on creation and rotation; only its hint afterwards.
                w.WriteString("secret", newSecret);
            }
        }
        else
        {
            w.WriteStartArray("recipients");
            foreach (var recipient in destination.Target.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                w.WriteStringValue(recipient);
            }

            w.WriteEndArray();
        }

        w.WriteBoolean("enabled", destination.State == AlertDestinationRecord.Active);
        if (destination.DisabledReason is { } reason)
        {
            w.WriteString("disabled_reason", reason);
        }

        w.WriteString("created_at", AdminEndpoints.Time(destination.CreatedAt));
        w.WriteString("updated_at", AdminEndpoints.Time(destination.UpdatedAt));
        w.WriteEndObject();
    }

    /// <summary>An alert as the API and webhook bodies show it.</summary>
    public static void WriteAlert(Utf8JsonWriter w, string ledger, AlertRecord alert)
    {
        w.WriteStartObject();
        w.WriteString("id", alert.Id);
        w.WriteString("ledger", ledger);
        w.WriteString("rule_id", alert.RuleId);
        w.WriteString("rule_type", alert.RuleType);
        w.WriteString("rule_name", alert.RuleName);
        w.WriteString("reason", alert.Reason);
        WriteOptional(w, "event_id", alert.EventId);
        if (alert.Seq is { } seq)
        {
            w.WriteNumber("seq", seq);
        }
        else
        {
            w.WriteNull("seq");
        }

        WriteOptional(w, "actor_id", alert.ActorId);
        w.WritePropertyName("details");
        using (var details = JsonDocument.Parse(alert.Details))
        {
            details.RootElement.WriteTo(w);
        }

        w.WriteString("created_at", AdminEndpoints.Time(alert.CreatedAt));
        w.WriteEndObject();
    }

    public static void WriteDeliveries(Utf8JsonWriter w, IReadOnlyList<AlertDeliveryRecord> deliveries, IReadOnlyList<DeliveryAttemptRecord> attempts)
    {
        w.WriteStartArray("deliveries");
        foreach (var d in deliveries)
        {
            w.WriteStartObject();
            w.WriteString("id", d.Id);
            w.WriteString("destination_id", d.DestinationId);
            w.WriteString("state", d.State);
            w.WriteNumber("attempts", d.Attempts);
            if (d.State == AlertDeliveryRecord.Pending)
            {
                w.WriteString("next_attempt_at", AdminEndpoints.Time(d.NextAttemptAt));
            }

            if (d.DeliveredAt is { } delivered)
            {
                w.WriteString("delivered_at", AdminEndpoints.Time(delivered));
            }

            WriteOptional(w, "last_error", d.LastError);
            w.WriteStartArray("log");
            foreach (var a in attempts.Where(a => a.DeliveryId == d.Id))
            {
                w.WriteStartObject();
                w.WriteNumber("attempt", a.Attempt);
                w.WriteString("at", AdminEndpoints.Time(a.At));
                w.WriteString("outcome", a.Outcome);
                if (a.StatusCode is { } status)
                {
                    w.WriteNumber("status_code", status);
                }

                w.WriteString("detail", a.Detail);
                w.WriteNumber("duration_ms", a.DurationMillis);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }
}

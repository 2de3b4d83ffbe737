using System.Globalization;
using System.Text;
using System.Text.Json;
using Stele.Server.Api;
using Stele.Storage.Alerts;

namespace Stele.Server.Alerts;

/// <summary>What a delivery sends: the webhook body (Standard Webhooks envelope) and the email text.</summary>
internal static class AlertMessage
{
    public const string WebhookEventType = "alert.raised";

    /// <summary><c>{"type": "alert.raised", "timestamp": …, "data": {alert}}</c>, the envelope the Standard Webhooks specification recommends.</summary>
    public static byte[] WebhookBody(string ledger, AlertRecord alert)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("type", WebhookEventType);
            w.WriteString("timestamp", AdminEndpoints.Time(alert.CreatedAt));
            w.WritePropertyName("data");
            AlertJson.WriteAlert(w, ledger, alert);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    public static string EmailSubject(AlertRecord alert)
    {
        var subject = $"[Stele] {alert.RuleName}: {alert.Reason}";
        return subject.Length <= 200 ? subject : subject[..199] + "…";
    }

    public static string EmailBody(string ledger, AlertRecord alert)
    {
        var text = new StringBuilder();
        text.AppendLine(alert.Reason).AppendLine();
        text.Append(CultureInfo.InvariantCulture, $"Ledger:   {ledger}").AppendLine();
        text.Append(CultureInfo.InvariantCulture, $"Rule:     {alert.RuleName} ({alert.RuleType}, {alert.RuleId})").AppendLine();
        text.Append(CultureInfo.InvariantCulture, $"Alert:    {alert.Id}").AppendLine();
        text.Append(CultureInfo.InvariantCulture, $"Raised:   {AdminEndpoints.Time(alert.CreatedAt)}").AppendLine();
        if (alert.EventId is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"Event:    {alert.EventId} (seq {alert.Seq})").AppendLine();
            text.AppendLine().Append(CultureInfo.InvariantCulture, $"Its inclusion proof: GET /api/v1/ledgers/{ledger}/events/{alert.EventId}/proof").AppendLine();
        }

        text.AppendLine().AppendLine("Details:");
        using var details = JsonDocument.Parse(alert.Details);
        text.AppendLine(JsonSerializer.Serialize(details.RootElement, IndentedJson));
        return text.ToString();
    }

    private static readonly JsonSerializerOptions IndentedJson = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

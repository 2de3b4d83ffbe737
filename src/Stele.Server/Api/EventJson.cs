using System.Text.Json;
using Stele.Core.Events;
using Stele.Server.Ingestion;
using Stele.Storage;

namespace Stele.Server.Api;

/// <summary>
/// The API representation of an event: the fields as ingested, the server-added ones, and the
/// integrity data needed to check it (<c>leaf_hash</c>, <c>chain_hash</c>, <c>payload_digest</c>).
/// Every value comes from the stored leaf and payload bytes, which are the truth.
/// </summary>
internal static class EventJson
{
    public static void Write(Utf8JsonWriter w, string ledger, StoredEvent stored, bool? duplicate = null)
    {
        var leaf = EventLeafV1.Parse(stored.Leaf);
        var payload = stored.Payload is null ? null : EventPayloadV1.Parse(stored.Payload);
        Write(w, ledger, stored, leaf.ToRecord(payload), leaf.ReceivedAt, leaf.PayloadDigest, duplicate);
    }

    /// <summary>
    /// The answer to an ingest call. A new event is written from the record its leaf and payload were
    /// just encoded from (the same values, without decoding them again); a duplicate from its stored bytes.
    /// </summary>
    public static void Write(Utf8JsonWriter w, string ledger, AppendOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome.Fresh is { } fresh)
        {
            Write(w, ledger, outcome.Event, fresh.Record, fresh.ReceivedAt, fresh.PayloadDigest, outcome.Duplicate);
        }
        else
        {
            Write(w, ledger, outcome.Event, outcome.Duplicate);
        }
    }

    private static void Write(Utf8JsonWriter w, string ledger, StoredEvent stored, EventRecord record, DateTimeOffset receivedAt, byte[] payloadDigest, bool? duplicate)
    {
        w.WriteStartObject();
        w.WriteString("id", stored.Id);
        w.WriteString("ledger", ledger);
        w.WriteNumber("seq", stored.Seq);
        w.WriteString("received_at", AdminEndpoints.Time(receivedAt));
        w.WriteString("occurred_at", AdminEndpoints.Time(record.OccurredAt));
        w.WriteString("actor_id", record.ActorId);
        WriteOptional(w, "actor_name", record.ActorName);
        WriteOptional(w, "actor_type", record.ActorType);
        w.WriteString("action", record.Action);
        WriteOptional(w, "action_category", record.ActionCategory);
        WriteOptional(w, "resource", record.Resource);
        WriteOptional(w, "resource_id", record.ResourceId);
        WriteOptional(w, "resource_name", record.ResourceName);
        w.WriteStartArray("targets");
        foreach (var target in record.Targets)
        {
            w.WriteStartObject();
            w.WriteString("type", target.Type);
            WriteOptional(w, "id", target.Id);
            WriteOptional(w, "name", target.Name);
            if (target.Metadata is { } targetMetadata)
            {
                w.WritePropertyName("metadata");
                targetMetadata.WriteTo(w);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WritePropertyName("metadata");
        if (record.Metadata is { } metadata)
        {
            metadata.WriteTo(w);
        }
        else
        {
            w.WriteNullValue();
        }

        WriteOptional(w, "tenant_id", record.TenantId);
        WriteOptional(w, "session_id", record.SessionId);
        WriteOptional(w, "ip_address", record.IpAddress);
        WriteOptional(w, "ip_country", record.IpCountry);
        WriteOptional(w, "ip_city", record.IpCity);
        WriteOptional(w, "user_agent", record.UserAgent);
        w.WriteString("outcome", record.Outcome == EventOutcome.Failure ? "failure" : "success");
        if (record.Version is { } version)
        {
            w.WriteNumber("version", version);
        }
        else
        {
            w.WriteNull("version");
        }

        WriteOptional(w, "idempotency_key", stored.IdempotencyKey);
        w.WriteBoolean("payload_erased", stored.Payload is null);
        w.WriteString("leaf_hash", Convert.ToHexStringLower(stored.LeafHash));
        w.WriteString("chain_hash", Convert.ToHexStringLower(stored.ChainHash));
        w.WriteString("payload_digest", Convert.ToHexStringLower(payloadDigest));
        if (duplicate is { } isDuplicate)
        {
            w.WriteBoolean("duplicate", isDuplicate);
        }

        w.WriteEndObject();
    }

    public static void WritePage(Utf8JsonWriter w, string ledger, EventPage page, Func<StoredEvent, string> cursorOf)
    {
        w.WriteStartObject();
        w.WriteStartArray("data");
        foreach (var e in page.Events)
        {
            Write(w, ledger, e);
        }

        w.WriteEndArray();
        w.WriteStartObject("pagination");
        w.WriteBoolean("has_more", page.HasMore);
        if (page.HasMore && page.Events.Count > 0)
        {
            w.WriteString("next_cursor", cursorOf(page.Events[^1]));
        }
        else
        {
            w.WriteNull("next_cursor");
        }

        // Freshness: every matching event up to this seq is in the result; later ones may not be indexed yet.
        if (page.IndexedSize > 0)
        {
            w.WriteNumber("indexed_through_seq", page.IndexedSize - 1);
        }
        else
        {
            w.WriteNull("indexed_through_seq");
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>The freshness header of a list response (the same value as <c>pagination.indexed_through_seq</c>; absent when nothing is indexed).</summary>
    public static void AddFreshnessHeader(Microsoft.AspNetCore.Http.HttpResponse response, EventPage page)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(page);
        if (page.IndexedSize > 0)
        {
            response.Headers[IndexedThroughHeader] = (page.IndexedSize - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public const string IndexedThroughHeader = "Stele-Indexed-Through-Seq";

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

    internal static long MicrosOf(DateTimeOffset value) => LedgerSequencer.ToMicros(value);
}

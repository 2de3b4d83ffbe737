using Stele.Core.Events;
using Stele.Server.Ingestion;
using Stele.Storage;

namespace Stele.Server.Indexing;

/// <summary>The query index entry of an event: from the event as ingested, or from its stored leaf and payload.</summary>
internal static class EventIndexEntries
{
    /// <summary>The entry of an event the sequencer just encoded (no decoding needed).</summary>
    public static EventIndexEntry FromRecord(long seq, string id, EventRecord record, string searchText) => new()
    {
        Seq = seq,
        Id = id,
        OccurredAtMicros = LedgerSequencer.ToMicros(record.OccurredAt),
        ActorId = record.ActorId,
        Action = record.Action,
        Resource = record.Resource,
        ResourceId = record.ResourceId,
        TenantId = record.TenantId,
        SessionId = record.SessionId,
        IpCountry = record.IpCountry,
        Outcome = OutcomeName(record.Outcome),
        Targets = record.Targets.Count == 0 ? [] : record.Targets.Select(t => new StoredTarget(t.Type, t.Id)).ToList(),
        SearchText = searchText,
    };

    /// <summary>
    /// The entry of a stored event, decoded from its leaf and payload (after a restart, for events
    /// another node appended, or for a backlog). An erased payload leaves only the leaf's fields to
    /// search. Returns null when the leaf is not a v1 leaf: an integrity failure the verifier reports.
    /// </summary>
    public static EventIndexEntry? FromStored(StoredEvent stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        DecodedLeaf leaf;
        try
        {
            leaf = EventLeafV1.Parse(stored.Leaf);
        }
        catch (EventFormatException)
        {
            return null;
        }

        EventRecord record;
        try
        {
            record = leaf.ToRecord(stored.Payload is null ? null : EventPayloadV1.Parse(stored.Payload));
        }
        catch (EventFormatException)
        {
            // A payload that does not decode (or fit the leaf) is also a verification finding; index what the leaf says.
            record = leaf.ToRecord(null);
        }

        return FromRecord(stored.Seq, stored.Id, record, EventSearchText.Of(record));
    }

    /// <summary>An entry for a stored event whose leaf does not decode: it matches only queries without filters on its fields.</summary>
    public static EventIndexEntry Undecodable(StoredEvent stored) => new()
    {
        Seq = stored.Seq,
        Id = stored.Id,
        OccurredAtMicros = 0,
        ActorId = string.Empty,
        Action = string.Empty,
        Outcome = string.Empty,
    };

    public static string OutcomeName(EventOutcome outcome) => outcome == EventOutcome.Failure ? "failure" : "success";
}

using System.Security.Cryptography;
using Stele.Core.Events;

namespace Stele.Server.Ingestion;

/// <summary>
/// A validated ingest request for one event, ready for the sequencer. Its payload is encoded here,
/// with a fresh salt, on the thread that parsed the request: it does not depend on the seq, and
/// encoding it on the sequencer's one thread would make every event wait for every other's.
/// </summary>
internal sealed record ParsedEvent(EventRecord Record, string? IdempotencyKey, string SearchText)
{
    public EncodedPayload Payload { get; } = EncodePayload(Record);

    private static EncodedPayload EncodePayload(EventRecord record)
    {
        Span<byte> salt = stackalloc byte[EventPayloadV1.SaltSize];
        RandomNumberGenerator.Fill(salt);
        return EventEncoderV1.EncodePayload(record, salt);
    }
}

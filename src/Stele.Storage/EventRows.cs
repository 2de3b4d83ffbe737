using System.Data.Common;
using Stele.Core.Verification;

namespace Stele.Storage;

/// <summary>
/// Reads stored events from either backend's reader. Both backends select the same columns in the
/// same order (seq, id, received_at, idempotency_key, leaf, leaf_hash, chain_hash, payload), so one
/// reader serves both.
/// </summary>
internal static class EventRows
{
    public static StoredEvent Read(DbDataReader reader) => new()
    {
        Seq = reader.GetInt64(0),
        Id = reader.GetString(1),
        ReceivedAtMicros = reader.GetInt64(2),
        IdempotencyKey = reader.IsDBNull(3) ? null : reader.GetString(3),
        Leaf = (byte[])reader[4],
        LeafHash = (byte[])reader[5],
        ChainHash = (byte[])reader[6],
        Payload = reader.IsDBNull(7) ? null : (byte[])reader[7],
    };

    /// <summary>A verification entry; a null payload stays null (a null byte[] would convert to empty memory).</summary>
    public static LedgerEntry Entry(long seq, byte[] leaf, byte[]? payload, byte[] leafHash, byte[] chainHash) =>
        new(seq, leaf, payload is null ? (ReadOnlyMemory<byte>?)null : new ReadOnlyMemory<byte>(payload), leafHash, chainHash);
}

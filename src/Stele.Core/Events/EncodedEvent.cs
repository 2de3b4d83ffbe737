namespace Stele.Core.Events;

/// <summary>
/// The two byte strings an event is stored as (DESIGN.md, "Integrity, version 1"), plus the hashes
/// derived from them. The byte arrays are owned by this object; callers must not modify them.
/// </summary>
public sealed class EncodedEvent
{
    internal EncodedEvent(byte[] leaf, byte[] payload, byte[] payloadDigest, byte[] leafHash)
    {
        Leaf = leaf;
        Payload = payload;
        PayloadDigest = payloadDigest;
        LeafHash = leafHash;
    }

    /// <summary>The leaf: compact UTF-8 JSON committed to by the Merkle tree and the chain.</summary>
    public byte[] Leaf { get; }

    /// <summary>The erasable payload: compact UTF-8 JSON whose digest the leaf carries.</summary>
    public byte[] Payload { get; }

    /// <summary><c>SHA-256(payload)</c>, 32 bytes.</summary>
    public byte[] PayloadDigest { get; }

    /// <summary><c>SHA-256(0x00 ‖ leaf)</c>, the RFC 6962 leaf hash, 32 bytes.</summary>
    public byte[] LeafHash { get; }
}

namespace Stele.Core.Events;

/// <summary>An event's v1 payload bytes and their SHA-256 digest, which the leaf commits to.</summary>
public sealed record EncodedPayload(byte[] Bytes, byte[] Digest);

namespace Stele.Core.Verification;

/// <summary>
/// One stored row handed to <see cref="LedgerVerifier.Add(LedgerEntry)"/>, in seq order.
/// </summary>
/// <param name="Seq">The position the store holds the row at (its seq column or tile index).</param>
/// <param name="Leaf">The stored leaf bytes.</param>
/// <param name="Payload">The stored payload bytes; null when erased, expired or not provided.</param>
/// <param name="StoredLeafHash">The leaf hash the store or the tiles hold, if any.</param>
/// <param name="StoredChainHash">The chain hash the database holds; null when verifying from /tlog tiles.</param>
public sealed record LedgerEntry(
    long Seq,
    ReadOnlyMemory<byte> Leaf,
    ReadOnlyMemory<byte>? Payload,
    byte[]? StoredLeafHash,
    byte[]? StoredChainHash);

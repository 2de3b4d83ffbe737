namespace Stele.Core.Verification;

/// <summary>
/// What a checkpoint claims about the ledger (DESIGN.md, "Checkpoint"): the tree size, the RFC 6962
/// root at that size, and the <c>chain</c> extension line (chain hash at size-1). The caller parses
/// the signed note and checks its signature; <paramref name="SignatureValid"/> carries the result.
/// </summary>
/// <param name="Source">Where the checkpoint came from (for example <c>database</c>, <c>anchor:rekor</c>), for break details.</param>
public sealed record CheckpointClaim(long Size, byte[] RootHash, byte[]? ChainHash, bool SignatureValid, string Source);

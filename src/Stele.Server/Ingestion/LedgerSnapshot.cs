using Stele.Core.Merkle;

namespace Stele.Server.Ingestion;

/// <summary>The committed state of a ledger after a group commit: what a checkpoint signs.</summary>
internal sealed record LedgerSnapshot(long Size, CompactRange Range, byte[] ChainHead);

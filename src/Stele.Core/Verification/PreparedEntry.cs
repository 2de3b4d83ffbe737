using Stele.Core.Events;

namespace Stele.Core.Verification;

/// <summary>
/// What <see cref="LedgerVerifier.Prepare"/> computed for one row without looking at any other row.
/// </summary>
/// <param name="LeafHash">The RFC 6962 leaf hash of the stored leaf bytes.</param>
/// <param name="Leaf">What the checks read from the leaf, or null when it is not a v1 leaf.</param>
/// <param name="LeafProblem">Why the leaf is not a v1 leaf, when it is not.</param>
/// <param name="PayloadDigest">SHA-256 of the stored payload, or null when it is erased.</param>
public sealed record PreparedEntry(byte[] LeafHash, LeafFields? Leaf, EventFormatException? LeafProblem, byte[]? PayloadDigest);

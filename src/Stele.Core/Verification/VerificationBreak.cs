namespace Stele.Core.Verification;

/// <summary>
/// One integrity break (DESIGN.md: <c>{seq, event_id, type, expected_hash, actual_hash}</c>).
/// Hashes are lowercase hex; <paramref name="Detail"/> says in words what disagreed with what.
/// </summary>
public sealed record VerificationBreak(
    long Seq,
    string? EventId,
    BreakType Type,
    string? ExpectedHash,
    string? ActualHash,
    string Detail);

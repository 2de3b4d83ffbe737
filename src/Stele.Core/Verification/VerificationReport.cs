namespace Stele.Core.Verification;

/// <summary>The outcome of verifying a ledger or a range of it with <see cref="LedgerVerifier"/>.</summary>
public sealed class VerificationReport
{
    public required string Ledger { get; init; }

    /// <summary>The first seq of the verified range (0 for a whole ledger).</summary>
    public required long FirstSeq { get; init; }

    /// <summary>One past the last seq the verifier reached, including any missing tail: the tree size verified.</summary>
    public required long EndSeq { get; init; }

    /// <summary>Rows that were checked (missing seqs are not counted).</summary>
    public required long EventsChecked { get; init; }

    /// <summary>Rows without payload bytes (erased, expired or not provided); these verify by digest alone.</summary>
    public required long PayloadsErased { get; init; }

    /// <summary>Checkpoint claims examined, including badly signed ones.</summary>
    public required long CheckpointsChecked { get; init; }

    /// <summary>
    /// Checkpoints whose root or chain line could not be compared meaningfully: the tree was unknown
    /// after a missing event, or already known to differ since an earlier mismatch (a divergence is
    /// reported once, at the first checkpoint that shows it, not at every later one).
    /// </summary>
    public required long CheckpointsNotCompared { get; init; }

    /// <summary>The RFC 6962 root of [0, EndSeq) in lowercase hex; null when a missing event made it unknowable.</summary>
    public required string? RootHash { get; init; }

    /// <summary>The chain hash at EndSeq-1 in lowercase hex (the stored value when rows carry one); null when unknown.</summary>
    public required string? ChainHead { get; init; }

    /// <summary>The breaks found, in seq order of discovery, at most the verifier's cap.</summary>
    public required IReadOnlyList<VerificationBreak> Breaks { get; init; }

    /// <summary>All breaks found, including those past the cap.</summary>
    public required long BreakCount { get; init; }

    /// <summary>True when <see cref="BreakCount"/> exceeds <see cref="Breaks"/>.Count.</summary>
    public bool BreaksTruncated => BreakCount > Breaks.Count;

    /// <summary>True when no break was found.</summary>
    public bool IsValid => BreakCount == 0;
}

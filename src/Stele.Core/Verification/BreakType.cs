namespace Stele.Core.Verification;

/// <summary>
/// What kind of integrity break the verifier found (DESIGN.md, "Integrity, version 1"). The wire
/// names from <see cref="BreakTypeNames.ToWireName(BreakType)"/> are a contract; the numeric values are not.
/// </summary>
public enum BreakType
{
    /// <summary><c>leaf_mismatch</c>: stored leaf bytes do not hash to the stored leaf hash, or are not a v1 leaf.</summary>
    LeafMismatch,

    /// <summary><c>payload_mismatch</c>: payload bytes do not hash to the leaf's <c>payload_digest</c>.</summary>
    PayloadMismatch,

    /// <summary><c>chain_break</c>: a chain hash does not follow, or a leaf stands at the wrong seq or ledger.</summary>
    ChainBreak,

    /// <summary><c>root_mismatch</c>: the tree computed from the leaves differs from a signed checkpoint's root.</summary>
    RootMismatch,

    /// <summary><c>missing_event</c>: a seq below the ledger's size has no row.</summary>
    MissingEvent,

    /// <summary><c>checkpoint_inconsistent</c>: a checkpoint is badly signed, contradicts another, or claims more events than exist.</summary>
    CheckpointInconsistent,
}

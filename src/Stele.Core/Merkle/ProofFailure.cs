namespace Stele.Core.Merkle;

/// <summary>
/// Why a proof check failed. The numeric values are persisted in verification reports: never
/// renumber them, only append.
/// </summary>
public enum ProofFailure
{
    /// <summary>The proof is valid.</summary>
    None = 0,

    /// <summary>The leaf index is negative or not below the tree (or subtree) size.</summary>
    IndexOutOfRange = 1,

    /// <summary>A tree size is negative, zero where a leaf is required, or otherwise impossible.</summary>
    InvalidSize = 2,

    /// <summary>The first tree is larger than the second.</summary>
    SizeOrder = 3,

    /// <summary>The proof has more or fewer hashes than the sizes require.</summary>
    WrongProofLength = 4,

    /// <summary>A leaf, root or proof hash is missing or is not 32 bytes.</summary>
    HashWrongLength = 5,

    /// <summary>The hashes chain correctly in shape but the computed root differs from the expected one.</summary>
    RootMismatch = 6,

    /// <summary>The range [start, end) is not a subtree in the sense of draft-ietf-plants-merkle-tree-certs.</summary>
    InvalidSubtree = 7,

    /// <summary>A consistency proof does not rebuild the first (older or subtree) root it claims to extend.</summary>
    FirstRootMismatch = 8,
}

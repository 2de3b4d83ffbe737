namespace Stele.Core.Merkle;

/// <summary>
/// The outcome of verifying a Merkle proof. Verification is a hot path that sees untrusted input,
/// so it reports failures as values (with a reason and a message that names the index, sizes and
/// hashes involved, hashes in lowercase hex) instead of throwing.
/// </summary>
/// <param name="IsValid">True when the proof holds.</param>
/// <param name="Failure">Why it does not hold; <see cref="ProofFailure.None"/> when valid.</param>
/// <param name="Message">A human-readable explanation; empty when valid.</param>
public readonly record struct ProofCheck(bool IsValid, ProofFailure Failure, string Message)
{
    /// <summary>The successful check.</summary>
    public static ProofCheck Valid => new(true, ProofFailure.None, string.Empty);

    /// <summary>Creates a failed check.</summary>
    public static ProofCheck Fail(ProofFailure failure, string message)
    {
        if (failure == ProofFailure.None)
        {
            throw new ArgumentOutOfRangeException(nameof(failure), failure, "A failed check needs a reason.");
        }

        return new ProofCheck(false, failure, message);
    }

    /// <inheritdoc />
    public override string ToString() => IsValid ? "valid" : $"{Failure}: {Message}";
}

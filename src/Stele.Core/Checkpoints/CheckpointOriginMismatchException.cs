namespace Stele.Core.Checkpoints;

/// <summary>
/// An integrity failure: a correctly signed checkpoint is for another log than the one expected,
/// for example another ledger of the same instance, which shares its signing key.
/// </summary>
public sealed class CheckpointOriginMismatchException : Exception
{
    internal CheckpointOriginMismatchException(string expected, string actual)
        : base($"The checkpoint is for origin '{actual}', not the expected '{expected}'.")
    {
        ExpectedOrigin = expected;
        ActualOrigin = actual;
    }

    /// <summary>A stable snake_case code.</summary>
    public string Code => "checkpoint_origin_mismatch";

    /// <summary>The origin the caller asked for.</summary>
    public string ExpectedOrigin { get; }

    /// <summary>The origin in the signed checkpoint.</summary>
    public string ActualOrigin { get; }
}

using System.Globalization;

namespace Stele.Core.Notes;

/// <summary>
/// An integrity failure: a well-formed note did not verify against the given keys. It is not a
/// <see cref="Errors.SteleFormatException"/> on purpose: the bytes parsed, but they cannot be
/// trusted, and callers must never retry or swallow that (STYLE.md, "Errors", kind 3).
/// </summary>
public sealed class NoteVerificationException : Exception
{
    internal NoteVerificationException(NoteVerificationFailure failure, string? keyName, uint? keyId, string message)
        : base(message)
    {
        Failure = failure;
        KeyName = keyName;
        KeyId = keyId;
    }

    /// <summary>What went wrong.</summary>
    public NoteVerificationFailure Failure { get; }

    /// <summary>A stable snake_case code: <c>note_no_verifiable_signature</c>, <c>note_invalid_signature</c> or <c>note_ambiguous_key</c>.</summary>
    public string Code => Failure switch
    {
        NoteVerificationFailure.NoVerifiableSignature => "note_no_verifiable_signature",
        NoteVerificationFailure.InvalidSignature => "note_invalid_signature",
        _ => "note_ambiguous_key",
    };

    /// <summary>The key name involved, when the failure concerns one signature.</summary>
    public string? KeyName { get; }

    /// <summary>The key ID involved, when the failure concerns one signature.</summary>
    public uint? KeyId { get; }

    internal static NoteVerificationException NoVerifiableSignature(int signatureCount) =>
        new(NoteVerificationFailure.NoVerifiableSignature, null, null,
            string.Create(CultureInfo.InvariantCulture, $"None of the note's {signatureCount} signatures is from a known key that Stele can verify."));

    internal static NoteVerificationException InvalidSignature(string name, uint keyId) =>
        new(NoteVerificationFailure.InvalidSignature, name, keyId,
            string.Create(CultureInfo.InvariantCulture, $"The signature by known key {name}+{keyId:x8} does not verify."));

    internal static NoteVerificationException AmbiguousKey(string name, uint keyId) =>
        new(NoteVerificationFailure.AmbiguousKey, name, keyId,
            string.Create(CultureInfo.InvariantCulture, $"More than one verifier key is named {name}+{keyId:x8}."));
}

using Stele.Core.Errors;

namespace Stele.Core.Events;

/// <summary>
/// Raised when leaf or payload bytes do not follow the v1 event format (DESIGN.md, "Integrity,
/// version 1"). <see cref="SteleFormatException.Code"/> is one of the constants below.
/// </summary>
public sealed class EventFormatException : SteleFormatException
{
    /// <summary>The bytes are not one well-formed UTF-8 JSON value.</summary>
    public const string InvalidJson = "event_invalid_json";

    /// <summary>The top-level value is not a JSON object.</summary>
    public const string NotAnObject = "event_not_an_object";

    /// <summary>The leaf's <c>v</c> is not a version this code knows.</summary>
    public const string UnsupportedVersion = "event_unsupported_version";

    /// <summary>A required member is absent.</summary>
    public const string MissingMember = "event_missing_member";

    /// <summary>A member that v1 does not define is present.</summary>
    public const string UnknownMember = "event_unknown_member";

    /// <summary>A member appears twice.</summary>
    public const string DuplicateMember = "event_duplicate_member";

    /// <summary>A member has the wrong JSON type.</summary>
    public const string WrongType = "event_wrong_type";

    /// <summary>A member has the right type but an impossible value (bad time, hex, base64, outcome).</summary>
    public const string InvalidValue = "event_invalid_value";

    /// <summary>The bytes parse but differ from the canonical v1 encoding of what they contain.</summary>
    public const string NotCanonical = "event_not_canonical";

    /// <summary>The payload's targets do not line up with the leaf's targets.</summary>
    public const string TargetsMismatch = "event_targets_mismatch";

    public EventFormatException(string code, string message, Exception? inner = null)
        : base(code, message, inner)
    {
    }
}

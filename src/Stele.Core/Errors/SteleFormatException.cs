namespace Stele.Core.Errors;

/// <summary>
/// Base of the typed errors raised when bytes handed to Stele.Core (a note, a key, a checkpoint,
/// a tile, an encoded event) do not follow their format. <see cref="Code"/> is stable and
/// machine-readable; the message says what is wrong in words.
/// </summary>
public abstract class SteleFormatException : Exception
{
    protected SteleFormatException(string code, string message, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
    }

    /// <summary>A stable snake_case code, for example <c>note_missing_signature</c>.</summary>
    public string Code { get; }
}

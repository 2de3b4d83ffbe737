using Stele.Core.Errors;

namespace Stele.Core.Checkpoints;

/// <summary>A checkpoint body does not follow c2sp.org/tlog-checkpoint §"Note text", or Stele's <c>chain</c> extension line.</summary>
public sealed class CheckpointFormatException : SteleFormatException
{
    /// <summary>The body does not end with a newline, or has fewer than three lines.</summary>
    public const string MalformedCode = "checkpoint_malformed";

    /// <summary>The origin line is empty.</summary>
    public const string EmptyOriginCode = "checkpoint_empty_origin";

    /// <summary>The size line is not a decimal number without sign or leading zeros that fits in 63 bits.</summary>
    public const string InvalidSizeCode = "checkpoint_invalid_size";

    /// <summary>The root hash line is not canonical base64 of 32 bytes.</summary>
    public const string InvalidRootHashCode = "checkpoint_invalid_root_hash";

    /// <summary>An extension line is empty.</summary>
    public const string EmptyExtensionLineCode = "checkpoint_empty_extension_line";

    /// <summary>A line starting with <c>chain </c> is not exactly <c>chain &lt;64 lowercase hex&gt;</c>, or appears twice.</summary>
    public const string InvalidChainLineCode = "checkpoint_invalid_chain_line";

    /// <summary>The body contains a control character other than newline, or invalid Unicode.</summary>
    public const string InvalidTextCode = "checkpoint_invalid_text";

    internal CheckpointFormatException(string code, string message)
        : base(code, message)
    {
    }
}

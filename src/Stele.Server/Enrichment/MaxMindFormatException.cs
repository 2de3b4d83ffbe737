using Stele.Core.Errors;

namespace Stele.Server.Enrichment;

/// <summary>
/// Raised when a MaxMind DB file does not follow the MaxMind DB File Format Specification 2.0
/// (https://maxmind.github.io/MaxMind-DB/): no metadata marker, metadata that is not a map or
/// lacks a key, a search tree that does not fit the file or points outside the data section,
/// a value that runs past its section, a pointer to a pointer, nesting deeper than
/// <see cref="MaxMindDecoder.MaxDepth"/>, text that is not UTF-8. The message says what is wrong
/// and <see cref="Offset"/> where, counted in bytes from the start of the file.
/// </summary>
public sealed class MaxMindFormatException : SteleFormatException
{
    public const string NoMetadata = "mmdb_no_metadata";
    public const string BadMetadata = "mmdb_bad_metadata";
    public const string Truncated = "mmdb_truncated";
    public const string BadType = "mmdb_bad_type";
    public const string BadSize = "mmdb_bad_size";
    public const string BadPointer = "mmdb_bad_pointer";
    public const string BadMapKey = "mmdb_bad_map_key";
    public const string BadUtf8 = "mmdb_bad_utf8";
    public const string TooDeep = "mmdb_too_deep";
    public const string TooLarge = "mmdb_too_large";
    public const string BadSearchTree = "mmdb_bad_search_tree";

    public MaxMindFormatException(string code, long offset, string message)
        : base(code, $"{message} (at byte {offset} of the file)")
    {
        Offset = offset;
    }

    /// <summary>Where the problem is, in bytes from the start of the file.</summary>
    public long Offset { get; }
}

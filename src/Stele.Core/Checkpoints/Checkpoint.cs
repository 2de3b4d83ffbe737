using System.Globalization;
using System.Text;

namespace Stele.Core.Checkpoints;

/// <summary>
/// A transparency log checkpoint body (c2sp.org/tlog-checkpoint §"Note text"): origin, tree
/// size, base64 root hash, then optional extension lines. Stele writes one extension line,
/// <c>chain &lt;hex chain_hash[size-1]&gt;</c> (DESIGN.md, "Integrity, version 1").
/// </summary>
/// <remarks>
/// Construction validates every field, so a <see cref="Checkpoint"/> always formats to a body
/// that <see cref="Parse"/> accepts. Equality compares the root hash and extensions by value.
/// </remarks>
public sealed record Checkpoint(string Origin, long Size, byte[] RootHash, IReadOnlyList<string> Extensions)
{
    /// <summary>Length of a SHA-256 RFC 6962 root hash and of a chain hash.</summary>
    public const int HashSize = 32;

    private const string ChainPrefix = "chain ";

    /// <summary>The log identity; non-empty, without newlines or control characters.</summary>
    public string Origin { get; } = ValidOrigin(Origin);

    /// <summary>The number of leaves in the tree.</summary>
    public long Size { get; } = Size >= 0 ? Size : throw new ArgumentOutOfRangeException(nameof(Size), "A tree size is not negative.");

    /// <summary>The RFC 6962 root hash at <see cref="Size"/> (32 bytes).</summary>
    public byte[] RootHash { get; } = ValidHash(RootHash, nameof(RootHash));

    /// <summary>The extension lines, without their newlines; each non-empty.</summary>
    public IReadOnlyList<string> Extensions { get; } = ValidExtensions(Extensions);

    /// <summary>
    /// The ledger's hash-chain head <c>chain_hash[size-1]</c> from the <c>chain</c> extension line,
    /// or null when the checkpoint has none (a checkpoint from another log).
    /// </summary>
    public byte[]? ChainHash => FindChainHash(Extensions);

    /// <summary>A Stele checkpoint: the tree head plus exactly one <c>chain</c> extension line.</summary>
    public static Checkpoint Create(string origin, long size, ReadOnlySpan<byte> rootHash, ReadOnlySpan<byte> chainHash)
    {
        if (chainHash.Length != HashSize)
        {
            throw new ArgumentException("A chain hash has 32 bytes.", nameof(chainHash));
        }

        return new Checkpoint(origin, size, rootHash.ToArray(), [ChainPrefix + Convert.ToHexStringLower(chainHash)]);
    }

    /// <summary>
    /// Parses a checkpoint body strictly: at least three lines each ending in a newline; a
    /// non-empty origin; a decimal size without sign or leading zeros; canonical base64 of a
    /// 32-byte root hash; non-empty extension lines; a well-formed <c>chain</c> line if any.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The body breaks one of those rules.</exception>
    public static Checkpoint Parse(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        CheckText(body);
        if (body.Length == 0 || body[^1] != '\n')
        {
            throw new CheckpointFormatException(CheckpointFormatException.MalformedCode, "A checkpoint body ends with a newline.");
        }

        var lines = body[..^1].Split('\n');
        if (lines.Length < 3)
        {
            throw new CheckpointFormatException(CheckpointFormatException.MalformedCode,
                "A checkpoint body has at least three lines: origin, tree size and root hash.");
        }

        if (lines[0].Length == 0)
        {
            throw new CheckpointFormatException(CheckpointFormatException.EmptyOriginCode, "The checkpoint origin line is empty.");
        }

        var size = ParseSize(lines[1]);
        var root = Notes.NoteEncoding.DecodeCanonicalBase64(lines[2]);
        if (root is null || root.Length != HashSize)
        {
            throw new CheckpointFormatException(CheckpointFormatException.InvalidRootHashCode,
                "The checkpoint root hash must be canonical base64 of 32 bytes.");
        }

        var extensions = lines[3..];
        foreach (var line in extensions)
        {
            if (line.Length == 0)
            {
                throw new CheckpointFormatException(CheckpointFormatException.EmptyExtensionLineCode,
                    "Checkpoint extension lines must be non-empty (tlog-checkpoint §\"Note text\").");
            }
        }

        _ = FindChainHash(extensions);
        return new Checkpoint(lines[0], size, root, extensions);
    }

    /// <summary>The body text: origin, size, base64 root hash and extension lines, each ending in a newline.</summary>
    public string Format()
    {
        var builder = new StringBuilder();
        builder.Append(Origin).Append('\n')
            .Append(Size.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append(Convert.ToBase64String(RootHash)).Append('\n');
        foreach (var line in Extensions)
        {
            builder.Append(line).Append('\n');
        }

        return builder.ToString();
    }

    /// <inheritdoc/>
    public bool Equals(Checkpoint? other) =>
        other is not null
        && string.Equals(Origin, other.Origin, StringComparison.Ordinal)
        && Size == other.Size
        && RootHash.AsSpan().SequenceEqual(other.RootHash)
        && Extensions.SequenceEqual(other.Extensions, StringComparer.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(StringComparer.Ordinal.GetHashCode(Origin), Size, Convert.ToHexString(RootHash));

    private static long ParseSize(string line)
    {
        // ASCII decimal with no leading zeroes unless the tree is empty (§"Note text"). Sizes that
        // fit uint64 but not int64 are rejected: no Stele ledger can reach them.
        var digitsOnly = line.Length > 0 && line.All(char.IsAsciiDigit);
        if (!digitsOnly || (line.Length > 1 && line[0] == '0')
            || !long.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            throw new CheckpointFormatException(CheckpointFormatException.InvalidSizeCode,
                "The checkpoint tree size must be a decimal number without sign or leading zeros, at most 2^63-1.");
        }

        return size;
    }

    private static byte[]? FindChainHash(IReadOnlyList<string> extensions)
    {
        byte[]? found = null;
        foreach (var line in extensions)
        {
            if (!line.StartsWith(ChainPrefix, StringComparison.Ordinal) && line != "chain")
            {
                continue;
            }

            var hex = line.AsSpan(ChainPrefix.Length - (line == "chain" ? 1 : 0));
            if (found is not null || hex.Length != 2 * HashSize || !IsLowerHex(hex))
            {
                throw new CheckpointFormatException(CheckpointFormatException.InvalidChainLineCode,
                    "A checkpoint carries at most one chain line, exactly 'chain ' and 64 lowercase hex digits.");
            }

            found = Convert.FromHexString(hex);
        }

        return found;
    }

    private static bool IsLowerHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c is not (>= '0' and <= '9' or >= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }

    private static void CheckText(string text)
    {
        // The body is a signed-note text: valid Unicode, no control characters but newline.
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var bad = (c < 0x20 && c != '\n')
                || (char.IsHighSurrogate(c) && (i + 1 >= text.Length || !char.IsLowSurrogate(text[++i])))
                || char.IsLowSurrogate(c);
            if (bad)
            {
                throw new CheckpointFormatException(CheckpointFormatException.InvalidTextCode,
                    "A checkpoint body must be valid Unicode without control characters other than newline.");
            }
        }
    }

    private static string ValidOrigin(string origin)
    {
        ArgumentNullException.ThrowIfNull(origin);
        if (origin.Length == 0 || origin.Contains('\n', StringComparison.Ordinal))
        {
            throw new ArgumentException("A checkpoint origin is a non-empty single line.", nameof(origin));
        }

        try
        {
            CheckText(origin);
        }
        catch (CheckpointFormatException e)
        {
            throw new ArgumentException(e.Message, nameof(origin), e);
        }

        return origin;
    }

    private static byte[] ValidHash(byte[] hash, string name)
    {
        ArgumentNullException.ThrowIfNull(hash, name);
        return hash.Length == HashSize ? (byte[])hash.Clone() : throw new ArgumentException("A root hash has 32 bytes.", name);
    }

    private static IReadOnlyList<string> ValidExtensions(IReadOnlyList<string> extensions)
    {
        ArgumentNullException.ThrowIfNull(extensions);
        var copy = extensions.ToArray();
        foreach (var line in copy)
        {
            if (string.IsNullOrEmpty(line) || line.Contains('\n', StringComparison.Ordinal))
            {
                throw new ArgumentException("Extension lines are non-empty single lines.", nameof(extensions));
            }

            try
            {
                CheckText(line);
            }
            catch (CheckpointFormatException e)
            {
                throw new ArgumentException(e.Message, nameof(extensions), e);
            }
        }

        try
        {
            _ = FindChainHash(copy);
        }
        catch (CheckpointFormatException e)
        {
            throw new ArgumentException(e.Message, nameof(extensions), e);
        }

        return Array.AsReadOnly(copy);
    }
}

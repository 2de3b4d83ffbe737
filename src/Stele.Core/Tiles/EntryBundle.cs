using System.Buffers.Binary;
using System.Globalization;

namespace Stele.Core.Tiles;

/// <summary>
/// Entry bundles of c2sp.org/tlog-tiles ("Log entries"): a sequence of entries, each written as a
/// big-endian uint16 length followed by that many bytes. A bundle holds at most 256 entries.
/// </summary>
public static class EntryBundle
{
    /// <summary>Largest entry a uint16 length prefix can describe.</summary>
    public const int MaxEntryLength = ushort.MaxValue;

    /// <summary>Encodes 1 to 256 entries of at most 65,535 bytes each.</summary>
    public static byte[] Encode(IReadOnlyList<ReadOnlyMemory<byte>> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count is < 1 or > TileCoordinate.FullWidth)
        {
            throw new ArgumentOutOfRangeException(nameof(entries), entries.Count, $"A bundle holds 1 to {TileCoordinate.FullWidth} entries.");
        }

        var total = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Length > MaxEntryLength)
            {
                throw new ArgumentException($"Entry {i} is {entries[i].Length} bytes; a bundle entry holds at most {MaxEntryLength}.", nameof(entries));
            }

            total += 2 + entries[i].Length;
        }

        var bytes = new byte[total];
        var offset = 0;
        foreach (var entry in entries)
        {
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(offset), (ushort)entry.Length);
            entry.Span.CopyTo(bytes.AsSpan(offset + 2));
            offset += 2 + entry.Length;
        }

        return bytes;
    }

    /// <summary>
    /// Decodes a bundle. Throws <see cref="TileFormatException"/> if a length prefix or an entry is
    /// cut short, or if the bundle holds more than 256 entries.
    /// </summary>
    public static IReadOnlyList<byte[]> Decode(ReadOnlySpan<byte> bundle)
    {
        var entries = new List<byte[]>();
        var offset = 0;
        while (offset < bundle.Length)
        {
            if (entries.Count == TileCoordinate.FullWidth)
            {
                throw new TileFormatException(
                    "entry_bundle_too_many_entries",
                    string.Create(CultureInfo.InvariantCulture, $"Entry bundle has bytes after its {TileCoordinate.FullWidth}th entry, at offset {offset}."));
            }

            if (bundle.Length - offset < 2)
            {
                throw new TileFormatException(
                    "entry_bundle_truncated",
                    string.Create(CultureInfo.InvariantCulture, $"Entry bundle ends inside the length prefix of entry {entries.Count}, at offset {offset}."));
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(bundle[offset..]);
            offset += 2;
            if (bundle.Length - offset < length)
            {
                throw new TileFormatException(
                    "entry_bundle_truncated",
                    string.Create(CultureInfo.InvariantCulture, $"Entry {entries.Count} declares {length} bytes but only {bundle.Length - offset} remain."));
            }

            entries.Add(bundle.Slice(offset, length).ToArray());
            offset += length;
        }

        return entries;
    }

    /// <summary>
    /// Decodes a bundle that must hold exactly <paramref name="expectedCount"/> entries (the width of
    /// its tile); throws <see cref="TileFormatException"/> otherwise.
    /// </summary>
    public static IReadOnlyList<byte[]> Decode(ReadOnlySpan<byte> bundle, int expectedCount)
    {
        var entries = Decode(bundle);
        if (entries.Count != expectedCount)
        {
            throw new TileFormatException(
                "entry_bundle_wrong_count",
                string.Create(CultureInfo.InvariantCulture, $"Entry bundle holds {entries.Count} entries, expected {expectedCount}."));
        }

        return entries;
    }
}

using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Stele.Server.Enrichment;

/// <summary>
/// A MaxMind DB file (GeoIP2/GeoLite2 City, Country, …), read whole into memory once and then
/// searched, written against the MaxMind DB File Format Specification 2.0
/// (https://maxmind.github.io/MaxMind-DB/). Layout: the binary search tree (node_count nodes of
/// two records each, record_size 24, 28 or 32 bits, big-endian), 16 zero bytes, the data section,
/// then the marker <c>\xAB\xCD\xEFMaxMind.com</c> and the metadata map, found as the marker's last
/// occurrence in the final 128 KiB.
/// <para>
/// Opening checks the metadata and that the sections fit the file; <see cref="Verify"/> also walks
/// the whole tree and checks every record it reaches. Every read is bounds-checked and a broken
/// file raises <see cref="MaxMindFormatException"/> (never an index or null error). Immutable once
/// open: lookups are thread-safe and allocate nothing but the strings they return.
/// </para>
/// </summary>
internal sealed class MaxMindDatabase
{
    private const int MetadataWindow = 128 * 1024;
    private const int SeparatorLength = 16;

    private readonly byte[] _file;
    private readonly uint _nodeCount;
    private readonly int _nodeBytes;
    private readonly int _recordSize;
    private readonly uint _ipv4Start;
    private readonly int _ipv4StartDepth;

    private MaxMindDatabase(byte[] file)
    {
        _file = file;
        var markerStart = FindMetadataMarker(file);
        var metadataStart = markerStart + MetadataMarker.Length;
        var metadata = new MaxMindDecoder(file, metadataStart, file.Length - metadataStart, "metadata");
        Metadata = MaxMindMetadata.FromMap(metadata.Decode(0), metadataStart);

        _nodeCount = Metadata.NodeCount;
        _recordSize = Metadata.RecordSize;
        _nodeBytes = _recordSize / 4;
        var treeBytes = (long)_nodeCount * _nodeBytes;
        if (treeBytes + SeparatorLength > markerStart)
        {
            throw new MaxMindFormatException(MaxMindFormatException.BadSearchTree, 0,
                $"The metadata gives {_nodeCount} nodes of {_nodeBytes} bytes ({treeBytes} bytes) but the search tree and its {SeparatorLength}-byte separator must fit in the {markerStart} bytes before the metadata marker");
        }

        var dataStart = (int)treeBytes + SeparatorLength;
        if (file.AsSpan((int)treeBytes, SeparatorLength).ContainsAnyExcept((byte)0))
        {
            throw new MaxMindFormatException(MaxMindFormatException.BadSearchTree, treeBytes,
                $"The {SeparatorLength} bytes after a search tree of {_nodeCount} nodes are not all zero, so node_count or record_size does not match the file");
        }

        Data = new MaxMindDecoder(file, dataStart, markerStart - dataStart, "data section");

        // IPv4 addresses in an IPv6 tree live under ::/96: their subtree starts 96 zero bits down.
        if (Metadata.IpVersion == 6)
        {
            var node = 0u;
            var depth = 0;
            for (; depth < 96 && node < _nodeCount; depth++)
            {
                node = ReadRecord(node, 0);
            }

            _ipv4Start = node;
            _ipv4StartDepth = depth;
        }
    }

    /// <summary>The marker that starts the metadata: <c>\xAB\xCD\xEF</c> then <c>MaxMind.com</c>.</summary>
    public static ReadOnlySpan<byte> MetadataMarker => [0xAB, 0xCD, 0xEF, (byte)'M', (byte)'a', (byte)'x', (byte)'M', (byte)'i', (byte)'n', (byte)'d', (byte)'.', (byte)'c', (byte)'o', (byte)'m'];

    public MaxMindMetadata Metadata { get; }

    /// <summary>The data section's decoder, for records found by <see cref="Find"/>.</summary>
    public MaxMindDecoder Data { get; }

    /// <summary>Reads the whole file and checks its metadata and layout. I/O errors are not caught.</summary>
    public static MaxMindDatabase Open(string path)
    {
        var length = new FileInfo(path).Length;
        if (length > Array.MaxLength)
        {
            throw new MaxMindFormatException(MaxMindFormatException.TooLarge, 0, $"The file is {length} bytes; this reader holds files of up to {Array.MaxLength} bytes in memory");
        }

        return FromBytes(File.ReadAllBytes(path));
    }

    /// <summary>Reads a database from its bytes, which must not change afterwards.</summary>
    public static MaxMindDatabase FromBytes(byte[] file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return new MaxMindDatabase(file);
    }

    /// <summary>
    /// Searches the tree for <paramref name="address"/>. An IPv4 address in an IPv6 tree is
    /// searched under ::/96; an IPv6 address in an IPv4 tree is not found (unless IPv4-mapped).
    /// </summary>
    public MaxMindLookup Find(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && Metadata.IpVersion == 4)
        {
            if (!address.IsIPv4MappedToIPv6)
            {
                return new MaxMindLookup(false, 0, 0);
            }

            address = address.MapToIPv4();
        }

        Span<byte> bits = stackalloc byte[16];
        if (!address.TryWriteBytes(bits, out var written))
        {
            throw new ArgumentException("The address could not be written as bytes.", nameof(address));
        }

        var bitCount = written * 8;
        var ipv4InIpv6 = written == 4 && Metadata.IpVersion == 6;
        var node = ipv4InIpv6 ? _ipv4Start : 0u;
        var depth = 0;
        for (; depth < bitCount && node < _nodeCount; depth++)
        {
            node = ReadRecord(node, (bits[depth >> 3] >> (7 - (depth & 7))) & 1);
        }

        // Report an IPv4 prefix for IPv4 addresses: bits below the ::/96 start, none if the tree ended above it.
        var prefix = ipv4InIpv6 ? Math.Max(0, _ipv4StartDepth + depth - 96) : depth;
        if (node == _nodeCount)
        {
            return new MaxMindLookup(false, prefix, 0);
        }

        if (node < _nodeCount)
        {
            throw new MaxMindFormatException(MaxMindFormatException.BadSearchTree, (long)node * _nodeBytes,
                $"The search tree still has a node ({node}) after all {bitCount} bits of an address");
        }

        return new MaxMindLookup(true, prefix, DataOffset(node, -1));
    }

    /// <summary>The record found by <paramref name="lookup"/>, fully decoded (see <see cref="MaxMindDecoder.Decode"/>).</summary>
    public object? Decode(MaxMindLookup lookup) => lookup.Found ? Data.Decode(lookup.DataOffset) : null;

    /// <summary>The string at <paramref name="path"/> in the record found, or null.</summary>
    public string? FindString(MaxMindLookup lookup, MaxMindPath path) => lookup.Found ? Data.FindString(lookup.DataOffset, path) : null;

    /// <summary>
    /// Walks every node reachable from the root and checks each record: pointing at a node, the
    /// empty value or inside the data section; no loop back to a node above it; no path deeper
    /// than an address has bits (shared subtrees, such as MaxMind's IPv4 aliases, are checked at
    /// the depth of each path to them); and every data record decodes. Takes time proportional to
    /// the file; meant for start-up.
    /// </summary>
    public void Verify()
    {
        const byte OnPath = byte.MaxValue;
        var maxDepth = Metadata.IpVersion == 6 ? 128 : 32;
        // Per node: 0 = not reached yet, OnPath = on the current path, else 1 + the bits its subtree consumes.
        var state = new byte[_nodeCount];
        var checkedData = new HashSet<int>();
        var checkedTargets = new HashSet<int>();
        var path = new List<Frame>(maxDepth + 1) { new(0, 0) };
        state[0] = OnPath;
        while (path.Count > 0)
        {
            var top = path.Count - 1;
            var frame = path[top];
            if (frame.Side == 2)
            {
                path.RemoveAt(top);
                var height = frame.Below + 1;
                state[frame.Node] = (byte)(height + 1);
                if (top > 0)
                {
                    path[top - 1] = path[top - 1] with { Below = Math.Max(path[top - 1].Below, height) };
                }

                continue;
            }

            var record = ReadRecord(frame.Node, frame.Side);
            path[top] = frame with { Side = frame.Side + 1 };
            if (record > _nodeCount)
            {
                var offset = DataOffset(record, frame.Node);
                if (checkedData.Add(offset))
                {
                    Data.Validate(offset, checkedTargets);
                }
            }
            else if (record < _nodeCount)
            {
                var childDepth = frame.Depth + 1;
                var seen = state[record];
                if (seen == OnPath)
                {
                    throw new MaxMindFormatException(MaxMindFormatException.BadSearchTree, (long)frame.Node * _nodeBytes,
                        $"Node {frame.Node} (at depth {frame.Depth}) leads back to node {record} above it: the search tree has a loop");
                }

                // A node not reached before must still consume a bit; one reached before brings its whole subtree.
                var height = seen == 0 ? 1 : seen - 1;
                if (childDepth + height > maxDepth)
                {
                    throw new MaxMindFormatException(MaxMindFormatException.BadSearchTree, (long)frame.Node * _nodeBytes,
                        $"The search tree is deeper than the {maxDepth} bits of an address: node {frame.Node} at depth {frame.Depth} leads to node {record}");
                }

                if (seen == 0)
                {
                    state[record] = OnPath;
                    path.Add(new Frame(record, childDepth));
                }
                else
                {
                    path[top] = path[top] with { Below = Math.Max(path[top].Below, height) };
                }
            }
        }
    }

    private int DataOffset(uint record, long fromNode)
    {
        // Spec: data section offset = (record - node_count) - 16.
        var offset = (long)record - _nodeCount - SeparatorLength;
        if (offset < 0 || offset >= Data.Length)
        {
            var where = fromNode >= 0 ? $"Node {fromNode} holds" : "The search tree holds";
            throw new MaxMindFormatException(MaxMindFormatException.BadSearchTree, Math.Max(0, fromNode) * _nodeBytes,
                $"{where} the record {record}, which points to data offset {offset}, outside the data section ({Data.Length} bytes)");
        }

        return (int)offset;
    }

    /// <summary>Reads the left (0) or right (1) record of a node; the node must be below node_count.</summary>
    private uint ReadRecord(uint node, int side)
    {
        var n = _file.AsSpan((int)(node * (long)_nodeBytes), _nodeBytes);
        switch (_recordSize)
        {
            case 24:
                // | 23..0 | 23..0 |
                return side == 0
                    ? (uint)((n[0] << 16) | (n[1] << 8) | n[2])
                    : (uint)((n[3] << 16) | (n[4] << 8) | n[5]);
            case 28:
                // | 23..0 | 27..24 27..24 | 23..0 |: the middle byte holds each record's top four bits.
                return side == 0
                    ? (uint)(((n[3] & 0xF0) << 20) | (n[0] << 16) | (n[1] << 8) | n[2])
                    : (uint)(((n[3] & 0x0F) << 24) | (n[4] << 16) | (n[5] << 8) | n[6]);
            default:
                // | 31..0 | 31..0 |
                return BinaryPrimitives.ReadUInt32BigEndian(n.Slice(side * 4, 4));
        }
    }

    private static int FindMetadataMarker(byte[] file)
    {
        var windowStart = Math.Max(0, file.Length - MetadataWindow);
        var index = file.AsSpan(windowStart).LastIndexOf(MetadataMarker);
        if (index < 0)
        {
            throw new MaxMindFormatException(MaxMindFormatException.NoMetadata, windowStart,
                $"There is no metadata marker (\\xAB\\xCD\\xEFMaxMind.com) in the last {file.Length - windowStart} bytes of this {file.Length}-byte file; it is not a MaxMind DB file");
        }

        return windowStart + index;
    }

    /// <summary>A node on the walk's current path: its depth, the next record to read, the deepest subtree below it.</summary>
    private readonly record struct Frame(uint Node, int Depth, int Side = 0, int Below = 0);
}

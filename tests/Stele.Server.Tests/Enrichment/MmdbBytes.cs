using System.Buffers.Binary;
using System.Text;

namespace Stele.Server.Tests.Enrichment;

/// <summary>
/// Test-only encoder for MaxMind DB values and files, written from the specification, to build
/// exact inputs (every size encoding, every pointer size, deliberate breakage) for the reader.
/// </summary>
internal static class MmdbBytes
{
    public const int Pointer = 1, Utf8String = 2, Double = 3, Bytes = 4, Uint16 = 5, Uint32 = 6, Map = 7,
        Int32 = 8, Uint64 = 9, Uint128 = 10, Array = 11, Container = 12, EndMarker = 13, Boolean = 14, Float = 15;

    /// <summary>A control byte (plus extended type and size bytes) for <paramref name="type"/> and <paramref name="size"/>.</summary>
    public static byte[] Control(int type, int size)
    {
        var bytes = new List<byte>();
        var typeBits = type <= 7 ? type : 0;
        int sizeBits;
        byte[] sizeBytes;
        if (size < 29)
        {
            sizeBits = size;
            sizeBytes = [];
        }
        else if (size < 285)
        {
            sizeBits = 29;
            sizeBytes = [(byte)(size - 29)];
        }
        else if (size < 65_821)
        {
            sizeBits = 30;
            var v = size - 285;
            sizeBytes = [(byte)(v >> 8), (byte)v];
        }
        else
        {
            sizeBits = 31;
            var v = size - 65_821;
            sizeBytes = [(byte)(v >> 16), (byte)(v >> 8), (byte)v];
        }

        bytes.Add((byte)((typeBits << 5) | sizeBits));
        if (type > 7)
        {
            bytes.Add((byte)(type - 7));
        }

        bytes.AddRange(sizeBytes);
        return [.. bytes];
    }

    public static byte[] String(string value) => Raw(Utf8String, Encoding.UTF8.GetBytes(value));

    public static byte[] Raw(int type, byte[] payload) => [.. Control(type, payload.Length), .. payload];

    /// <summary>An unsigned (or int32) integer in the fewest bytes, or in exactly <paramref name="width"/> bytes.</summary>
    public static byte[] Integer(int type, UInt128 value, int? width = null)
    {
        var payload = new List<byte>();
        for (var v = value; v > 0; v >>= 8)
        {
            payload.Insert(0, (byte)(v & 0xff));
        }

        while (width is { } w && payload.Count < w)
        {
            payload.Insert(0, 0);
        }

        return Raw(type, [.. payload]);
    }

    public static byte[] Int(int value) => Integer(Int32, unchecked((uint)value));

    public static byte[] DoubleValue(double value)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(payload, value);
        return Raw(Double, payload);
    }

    public static byte[] FloatValue(float value)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteSingleBigEndian(payload, value);
        return Raw(Float, payload);
    }

    public static byte[] Bool(bool value) => Control(Boolean, value ? 1 : 0);

    public static byte[] MapOf(params (string Key, byte[] Value)[] pairs) => MapOfRaw(pairs.Select(p => (String(p.Key), p.Value)).ToArray());

    public static byte[] MapOfRaw(params (byte[] Key, byte[] Value)[] pairs) =>
        [.. Control(Map, pairs.Length), .. pairs.SelectMany(p => p.Key.Concat(p.Value))];

    public static byte[] ArrayOf(params byte[][] items) => [.. Control(Array, items.Length), .. items.SelectMany(i => i)];

    /// <summary>A pointer to <paramref name="target"/> in the encoding of <paramref name="sizeBits"/> (0–3).</summary>
    public static byte[] PointerTo(long target, int sizeBits)
    {
        switch (sizeBits)
        {
            case 0:
                Assert.InRange(target, 0, 2047);
                return [(byte)(0x20 | (int)(target >> 8)), (byte)target];
            case 1:
                {
                    var v = target - 2048;
                    Assert.InRange(v, 0, (1 << 19) - 1);
                    return [(byte)(0x28 | (int)(v >> 16)), (byte)(v >> 8), (byte)v];
                }

            case 2:
                {
                    var v = target - 526_336;
                    Assert.InRange(v, 0, (1 << 27) - 1);
                    return [(byte)(0x30 | (int)(v >> 24)), (byte)(v >> 16), (byte)(v >> 8), (byte)v];
                }

            default:
                return [0x38, (byte)(target >> 24), (byte)(target >> 16), (byte)(target >> 8), (byte)target];
        }
    }

    /// <summary>A metadata map with the required keys (and overrides or removals via <paramref name="edit"/>).</summary>
    public static byte[] Metadata(uint nodeCount, int recordSize, int ipVersion, Action<Dictionary<string, byte[]>>? edit = null)
    {
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["binary_format_major_version"] = Integer(Uint16, 2),
            ["binary_format_minor_version"] = Integer(Uint16, 0),
            ["build_epoch"] = Integer(Uint64, 1_700_000_000),
            ["database_type"] = String("Stele-Test"),
            ["description"] = MapOf(("en", String("Built by the Stele tests"))),
            ["ip_version"] = Integer(Uint16, (ulong)ipVersion),
            ["languages"] = ArrayOf(String("en")),
            ["node_count"] = Integer(Uint32, nodeCount),
            ["record_size"] = Integer(Uint16, (ulong)recordSize),
        };
        edit?.Invoke(keys);
        return MapOf(keys.Select(k => (k.Key, k.Value)).ToArray());
    }

    public static readonly byte[] MetadataMarker = [0xAB, 0xCD, 0xEF, .. "MaxMind.com"u8.ToArray()];

    /// <summary>A whole file: the tree's nodes (record pairs), 16 zero bytes, the data section, the marker and the metadata.</summary>
    public static byte[] File(IReadOnlyList<(uint Left, uint Right)> nodes, int recordSize, int ipVersion, byte[] data, byte[]? metadata = null)
    {
        var file = new List<byte>();
        foreach (var (left, right) in nodes)
        {
            file.AddRange(Node(left, right, recordSize));
        }

        file.AddRange(new byte[16]);
        file.AddRange(data);
        file.AddRange(MetadataMarker);
        file.AddRange(metadata ?? Metadata((uint)nodes.Count, recordSize, ipVersion));
        return [.. file];
    }

    /// <summary>An IPv6 file of one node whose both records point to the data section's first value: every address finds it.</summary>
    public static byte[] EveryAddressFinds(byte[] record, int recordSize = 24) =>
        File([(DataRecord(1, 0), DataRecord(1, 0))], recordSize, 6, record);

    /// <summary>The record value that points to data section offset <paramref name="offset"/> (spec: offset + node_count + 16).</summary>
    public static uint DataRecord(uint nodeCount, int offset) => (uint)(offset + nodeCount + 16);

    public static byte[] Node(uint left, uint right, int recordSize) => recordSize switch
    {
        24 => [(byte)(left >> 16), (byte)(left >> 8), (byte)left, (byte)(right >> 16), (byte)(right >> 8), (byte)right],
        28 => [(byte)(left >> 16), (byte)(left >> 8), (byte)left, (byte)(((left >> 20) & 0xF0) | ((right >> 24) & 0x0F)), (byte)(right >> 16), (byte)(right >> 8), (byte)right],
        _ => [(byte)(left >> 24), (byte)(left >> 16), (byte)(left >> 8), (byte)left, (byte)(right >> 24), (byte)(right >> 16), (byte)(right >> 8), (byte)right],
    };
}

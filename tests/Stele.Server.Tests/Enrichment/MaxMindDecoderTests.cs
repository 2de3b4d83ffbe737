using System.Net;
using System.Text;
using Stele.Server.Enrichment;
using static Stele.Server.Tests.Enrichment.MmdbBytes;

namespace Stele.Server.Tests.Enrichment;

/// <summary>
/// The data section decoder, type by type: on MaxMind-DB-test-decoder.mmdb (upstream's database
/// holding every type, with zero and maximum values) and on values encoded here from the spec
/// (every size encoding, every pointer size), plus each way a value can be broken.
/// </summary>
public sealed class MaxMindDecoderTests
{
    private static MaxMindDecoder Section(byte[] bytes) => new(bytes, 0, bytes.Length, "data section");

    private static object Decode(byte[] bytes) => Section(bytes).Decode(0);

    private static Dictionary<string, object> DecoderRecord(string ip)
    {
        var database = MaxMindTestData.Open("MaxMind-DB-test-decoder");
        return Assert.IsType<Dictionary<string, object>>(database.Decode(database.Find(IPAddress.Parse(ip))));
    }

    [Fact]
    public void The_decoder_test_database_holds_every_type_with_its_value()
    {
        var record = DecoderRecord("1.1.1.1");

        Assert.Equal(new List<object> { 1u, 2u, 3u }, Assert.IsType<List<object>>(record["array"]));
        Assert.Equal(true, record["boolean"]);
        Assert.Equal(new byte[] { 0, 0, 0, 42 }, Assert.IsType<byte[]>(record["bytes"]));
        Assert.Equal(42.123456, Assert.IsType<double>(record["double"]));
        Assert.Equal(1.1f, Assert.IsType<float>(record["float"]));
        Assert.Equal(-268_435_456, Assert.IsType<int>(record["int32"]));
        var mapX = Assert.IsType<Dictionary<string, object>>(Assert.IsType<Dictionary<string, object>>(record["map"])["mapX"]);
        Assert.Equal(new List<object> { 7u, 8u, 9u }, mapX["arrayX"]);
        Assert.Equal("hello", mapX["utf8_stringX"]);
        Assert.Equal(UInt128.One << 120, Assert.IsType<UInt128>(record["uint128"]));
        Assert.Equal((ushort)100, Assert.IsType<ushort>(record["uint16"]));
        Assert.Equal(268_435_456u, Assert.IsType<uint>(record["uint32"]));
        Assert.Equal(1UL << 60, Assert.IsType<ulong>(record["uint64"]));
        Assert.Equal("unicode! ☯ - ♫", Assert.IsType<string>(record["utf8_string"]));
        Assert.Equal(12, record.Count);
    }

    [Fact]
    public void The_decoder_test_database_holds_zero_values()
    {
        var record = DecoderRecord("::0.0.0.0");

        Assert.Empty(Assert.IsType<List<object>>(record["array"]));
        Assert.Equal(false, record["boolean"]);
        Assert.Empty(Assert.IsType<byte[]>(record["bytes"]));
        Assert.Equal(0.0, record["double"]);
        Assert.Equal(0.0f, record["float"]);
        Assert.Equal(0, record["int32"]);
        Assert.Empty(Assert.IsType<Dictionary<string, object>>(record["map"]));
        Assert.Equal(UInt128.Zero, record["uint128"]);
        Assert.Equal((ushort)0, record["uint16"]);
        Assert.Equal(0u, record["uint32"]);
        Assert.Equal(0UL, record["uint64"]);
        Assert.Equal(string.Empty, record["utf8_string"]);
    }

    [Fact]
    public void The_decoder_test_database_holds_maximum_values()
    {
        var record = DecoderRecord("::255.255.255.255");

        Assert.Equal(double.PositiveInfinity, record["double"]);
        Assert.Equal(float.PositiveInfinity, record["float"]);
        Assert.Equal(int.MaxValue, record["int32"]);
        Assert.Equal(UInt128.MaxValue, record["uint128"]);
        Assert.Equal(ushort.MaxValue, record["uint16"]);
        Assert.Equal(uint.MaxValue, record["uint32"]);
        Assert.Equal(ulong.MaxValue, record["uint64"]);
    }

    [Fact]
    public void The_pointer_decoder_test_database_decodes_the_same_values_through_its_pointers()
    {
        var database = MaxMindTestData.Open("MaxMind-DB-test-pointer-decoder");
        database.Verify();
        var lookup = database.Find(IPAddress.Parse("1.1.1.0"));
        Assert.True(lookup.Found);
        var record = Assert.IsType<Dictionary<string, object>>(database.Decode(lookup));
        Assert.Equal("unicode! ☯ - ♫", record["utf8_string"]);
        Assert.Equal(new List<object> { 7u, 8u, 9u }, ((Dictionary<string, object>)((Dictionary<string, object>)record["map"])["mapX"])["arrayX"]);
        Assert.Equal(UInt128.One << 120, record["uint128"]);
    }

    [Fact]
    public void Maps_sharing_keys_and_values_through_pointers_decode_one_after_another()
    {
        // test-data/maps-with-pointers.raw: a serializer's raw output for six maps that share keys and values.
        var bytes = System.IO.File.ReadAllBytes(Path.Combine(MaxMindTestData.Root, "test-data", "maps-with-pointers.raw"));
        var decoder = Section(bytes);
        var maps = new List<Dictionary<string, object>>();
        for (var offset = 0; offset < bytes.Length;)
        {
            maps.Add(Assert.IsType<Dictionary<string, object>>(decoder.Decode(offset, out offset)));
        }

        Assert.Equal(
            ["long_key=long_value1", "long_key=long_value2", "long_key2=long_value1", "long_key2=long_value2", "long_key=long_value1", "long_key2=long_value2"],
            maps.Select(m => string.Join(",", m.Select(p => $"{p.Key}={p.Value}"))));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(28)]
    [InlineData(29)]
    [InlineData(284)]
    [InlineData(285)]
    [InlineData(65_820)]
    [InlineData(65_821)]
    [InlineData(70_000)]
    public void A_string_of_any_length_decodes_with_each_size_encoding(int length)
    {
        var text = new string('x', length) + (length > 0 ? "é" : string.Empty);
        Assert.Equal(text, Decode(String(text)));
    }

    [Fact]
    public void Bytes_decode_as_they_are()
    {
        Assert.Equal(new byte[] { 0, 255, 7 }, Decode(Raw(MmdbBytes.Bytes, [0, 255, 7])));
    }

    [Theory]
    [InlineData(MmdbBytes.Uint16, 2)]
    [InlineData(MmdbBytes.Uint32, 4)]
    [InlineData(MmdbBytes.Uint64, 8)]
    [InlineData(MmdbBytes.Uint128, 16)]
    public void Unsigned_integers_decode_from_every_width(int type, int maxBytes)
    {
        for (var width = 0; width <= maxBytes; width++)
        {
            var value = width == 0 ? UInt128.Zero : (UInt128.MaxValue >> (128 - (8 * width))) - 1;
            var decoded = Decode(Integer(type, value, width));
            var expected = type switch
            {
                MmdbBytes.Uint16 => (object)(ushort)value,
                MmdbBytes.Uint32 => (uint)value,
                MmdbBytes.Uint64 => (ulong)value,
                _ => value,
            };
            Assert.Equal(expected, decoded);
        }
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(int.MaxValue)]
    [InlineData(0)]
    [InlineData(-268_435_456)]
    public void A_signed_32_bit_integer_decodes_as_twos_complement(int value)
    {
        Assert.Equal(value, Decode(Integer(MmdbBytes.Int32, unchecked((uint)value), 4)));
    }

    [Fact]
    public void A_short_signed_integer_is_padded_with_zeros_as_the_reference_readers_do()
    {
        Assert.Equal(0xff, Decode(Raw(MmdbBytes.Int32, [0xff])));
        Assert.Equal(0x8000, Decode(Raw(MmdbBytes.Int32, [0x80, 0x00])));
    }

    [Fact]
    public void Doubles_floats_and_booleans_decode()
    {
        Assert.Equal(-0.5, Decode(DoubleValue(-0.5)));
        Assert.Equal(double.NaN, Decode(DoubleValue(double.NaN)));
        Assert.Equal(3.25f, Decode(FloatValue(3.25f)));
        Assert.Equal(true, Decode(Bool(true)));
        Assert.Equal(false, Decode(Bool(false)));
    }

    [Fact]
    public void Maps_and_arrays_nest()
    {
        var bytes = MapOf(("a", ArrayOf(Integer(MmdbBytes.Uint32, 1), String("two"), MapOf())), ("b", Bool(true)));
        var map = Assert.IsType<Dictionary<string, object>>(Decode(bytes));
        var array = Assert.IsType<List<object>>(map["a"]);
        Assert.Equal(1u, array[0]);
        Assert.Equal("two", array[1]);
        Assert.Empty(Assert.IsType<Dictionary<string, object>>(array[2]));
        Assert.Equal(true, map["b"]);
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(0, 2047)]
    [InlineData(1, 2048)]
    [InlineData(1, 526_335)]
    [InlineData(2, 526_336)]
    [InlineData(2, 600_000)]
    [InlineData(3, 5)]
    [InlineData(3, 600_000)]
    public void A_pointer_of_each_size_reaches_its_target(int sizeBits, int target)
    {
        // The pointer first, padding, then the string it points to at exactly 'target'.
        var pointer = PointerTo(target, sizeBits);
        var bytes = new byte[target + 16];
        pointer.CopyTo(bytes, 0);
        String("target").CopyTo(bytes, target);

        var decoder = Section(bytes);
        Assert.Equal("target", decoder.Decode(0, out var next));
        Assert.Equal(pointer.Length, next);
    }

    [Fact]
    public void Map_keys_and_values_may_be_pointers()
    {
        var shared = String("shared-key");
        var value = String("value");
        var map = MapOfRaw((PointerTo(0, 0), PointerTo(shared.Length, 0)));
        var bytes = shared.Concat(value).Concat(map).ToArray();

        var decoded = Assert.IsType<Dictionary<string, object>>(Section(bytes).Decode(shared.Length + value.Length));
        Assert.Equal("value", decoded["shared-key"]);
    }

    [Fact]
    public void A_path_lookup_finds_strings_and_answers_null_for_what_is_not_there()
    {
        var bytes = MapOf(
            ("country", MapOf(("geoname_id", Integer(MmdbBytes.Uint32, 7)), ("iso_code", String("GB")))),
            ("city", MapOf(("names", MapOf(("de", String("London")), ("en", String("London")))))),
            ("list", ArrayOf(String("x"))));
        var decoder = Section(bytes);

        Assert.Equal("GB", decoder.FindString(0, new MaxMindPath("country", "iso_code")));
        Assert.Equal("London", decoder.FindString(0, new MaxMindPath("city", "names", "en")));
        Assert.Null(decoder.FindString(0, new MaxMindPath("city", "names", "fr")));
        Assert.Null(decoder.FindString(0, new MaxMindPath("country", "geoname_id")));
        Assert.Null(decoder.FindString(0, new MaxMindPath("list", "x")));
        Assert.Null(decoder.FindString(0, new MaxMindPath("registered_country", "iso_code")));
    }

    public static TheoryData<string, byte[], string> BrokenValues => new()
    {
        { "empty section", [], MaxMindFormatException.Truncated },
        { "string past the end", [.. Control(MmdbBytes.Utf8String, 10), .. "abc"u8.ToArray()], MaxMindFormatException.Truncated },
        { "size bytes missing", [0x5e, 0x01], MaxMindFormatException.Truncated },
        { "extended type byte missing", [0x01], MaxMindFormatException.Truncated },
        { "extended type 7", [0x00, 0x00], MaxMindFormatException.BadType },
        { "extended type 16", [0x00, 0x09], MaxMindFormatException.BadType },
        { "data cache container", Control(MmdbBytes.Container, 0), MaxMindFormatException.BadType },
        { "end marker", Control(MmdbBytes.EndMarker, 0), MaxMindFormatException.BadType },
        { "double of 4 bytes", Raw(MmdbBytes.Double, [0, 0, 0, 0]), MaxMindFormatException.BadSize },
        { "float of 8 bytes", Raw(MmdbBytes.Float, new byte[8]), MaxMindFormatException.BadSize },
        { "uint16 of 3 bytes", Raw(MmdbBytes.Uint16, [1, 2, 3]), MaxMindFormatException.BadSize },
        { "uint32 of 5 bytes", Raw(MmdbBytes.Uint32, [1, 2, 3, 4, 5]), MaxMindFormatException.BadSize },
        { "int32 of 5 bytes", Raw(MmdbBytes.Int32, [1, 2, 3, 4, 5]), MaxMindFormatException.BadSize },
        { "uint64 of 9 bytes", Raw(MmdbBytes.Uint64, new byte[9]), MaxMindFormatException.BadSize },
        { "uint128 of 17 bytes", Raw(MmdbBytes.Uint128, new byte[17]), MaxMindFormatException.BadSize },
        { "boolean of size 2", Control(MmdbBytes.Boolean, 2), MaxMindFormatException.BadSize },
        { "map of a million pairs", [.. Control(MmdbBytes.Map, 1_000_000), .. String("a"), .. String("b")], MaxMindFormatException.BadSize },
        { "array of a million values", [.. Control(MmdbBytes.Array, 1_000_000), .. String("a")], MaxMindFormatException.BadSize },
        { "map missing its last value", [.. Control(MmdbBytes.Map, 1), .. String("a")], MaxMindFormatException.Truncated },
        { "map key that is a number", MapOfRaw((Integer(MmdbBytes.Uint32, 1), String("v"))), MaxMindFormatException.BadMapKey },
        { "pointer past the end", PointerTo(100, 0), MaxMindFormatException.BadPointer },
        { "pointer to a pointer", [.. PointerTo(2, 0), .. PointerTo(4, 0), .. String("x")], MaxMindFormatException.BadPointer },
        { "pointer bytes missing", [0x38, 0, 0], MaxMindFormatException.Truncated },
        { "invalid UTF-8", Raw(MmdbBytes.Utf8String, [0x61, 0xff, 0x62]), MaxMindFormatException.BadUtf8 },
        { "lone surrogate in UTF-8", Raw(MmdbBytes.Utf8String, [0xed, 0xa0, 0x80]), MaxMindFormatException.BadUtf8 },
        { "invalid UTF-8 in a map key", MapOfRaw((Raw(MmdbBytes.Utf8String, [0xc3]), String("v"))), MaxMindFormatException.BadUtf8 },
        { "a map that holds itself", [.. Control(MmdbBytes.Map, 1), .. String("a"), .. PointerTo(0, 0)], MaxMindFormatException.TooDeep },
    };

    [Theory]
    [MemberData(nameof(BrokenValues))]
    public void A_broken_value_is_refused_with_a_typed_error_by_decoding_and_by_validation(string description, byte[] bytes, string code)
    {
        var decoder = Section(bytes);
        var decoding = Assert.Throws<MaxMindFormatException>(() => decoder.Decode(0));
        Assert.True(code == decoding.Code, $"{description}: {decoding.Code}: {decoding.Message}");
        Assert.Contains("at byte", decoding.Message, StringComparison.Ordinal);
        Assert.InRange(decoding.Offset, 0, bytes.Length);

        var validation = Assert.Throws<MaxMindFormatException>(() => decoder.Validate(0, []));
        Assert.Equal(code, validation.Code);
    }

    [Fact]
    public void Nesting_up_to_the_limit_decodes_and_one_level_more_is_refused()
    {
        static byte[] Nested(int depth)
        {
            var value = String("x");
            for (var i = 0; i < depth; i++)
            {
                value = MapOf(("a", value));
            }

            return value;
        }

        Assert.IsType<Dictionary<string, object>>(Decode(Nested(MaxMindDecoder.MaxDepth)));
        var error = Assert.Throws<MaxMindFormatException>(() => Decode(Nested(MaxMindDecoder.MaxDepth + 1)));
        Assert.Equal(MaxMindFormatException.TooDeep, error.Code);
        Assert.Throws<MaxMindFormatException>(() => Section(Nested(MaxMindDecoder.MaxDepth + 1)).FindString(0, new MaxMindPath("b")));
    }

    [Fact]
    public void A_record_that_fans_out_through_pointers_beyond_the_value_limit_is_refused()
    {
        // An array of 400 values at offset 0, then an array of 400 pointers to it: 160,400 values.
        var inner = ArrayOf(Enumerable.Repeat(Integer(MmdbBytes.Uint16, 1), 400).ToArray());
        var outer = ArrayOf(Enumerable.Repeat(PointerTo(0, 0), 400).ToArray());
        var bytes = inner.Concat(outer).ToArray();

        var error = Assert.Throws<MaxMindFormatException>(() => Section(bytes).Decode(inner.Length));
        Assert.Equal(MaxMindFormatException.TooLarge, error.Code);
        // Validation checks each pointer target once, so it accepts the same bytes quickly.
        Section(bytes).Validate(inner.Length, []);
    }

    [Fact]
    public void Error_offsets_count_from_the_start_of_the_file()
    {
        var file = new byte[100];
        Encoding.ASCII.GetBytes("garbage").CopyTo(file, 0);
        Raw(MmdbBytes.Utf8String, [0xff]).CopyTo(file, 60);
        var error = Assert.Throws<MaxMindFormatException>(() => new MaxMindDecoder(file, 50, 50, "data section").Decode(10));
        Assert.Equal(60, error.Offset);
        Assert.Contains("offset 10", error.Message, StringComparison.Ordinal);
    }
}

using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace Stele.Server.Enrichment;

/// <summary>
/// Reads values from one section of a MaxMind DB file, laid out as the specification's "Output
/// Data Section" says: a control byte whose top three bits are the type (000 = extended: the next
/// byte is the type minus 7) and whose low five bits are the size (29, 30 and 31 mean 29, 285 and
/// 65,821 plus the next one, two or three bytes), then the payload. Pointers (001SSVVV) count from
/// the start of the section. The data section and the metadata each get a decoder of their own.
/// <para>
/// Every read is checked against the end of the section. A pointer to a pointer, a map key that is
/// not a string, text that is not UTF-8, nesting deeper than <see cref="MaxDepth"/> (which also
/// stops pointer cycles) and records of more than <see cref="MaxValuesPerRecord"/> values (which
/// stops pointer fan-out) are refused with a <see cref="MaxMindFormatException"/> that says where.
/// </para>
/// <para>Immutable and stateless between calls: safe to share between threads.</para>
/// </summary>
internal sealed class MaxMindDecoder
{
    /// <summary>Deepest nesting of maps, arrays and pointers accepted; GeoIP2 records nest about 4 deep.</summary>
    public const int MaxDepth = 64;

    /// <summary>Most values one <see cref="Decode"/> may produce; a GeoIP2 Enterprise record has a few hundred.</summary>
    public const int MaxValuesPerRecord = 100_000;

    private readonly byte[] _file;
    private readonly int _start;
    private readonly int _length;
    private readonly string _section;

    /// <param name="file">The whole file.</param>
    /// <param name="start">Where the section starts in the file; pointers count from here.</param>
    /// <param name="length">The section's length in bytes.</param>
    /// <param name="section">The section's name in messages ("data section", "metadata").</param>
    public MaxMindDecoder(byte[] file, int start, int length, string section)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if ((long)start + length > file.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "The section runs past the end of the file.");
        }

        _file = file;
        _start = start;
        _length = length;
        _section = section;
    }

    /// <summary>The section's length in bytes.</summary>
    public int Length => _length;

    private ReadOnlySpan<byte> Bytes => _file.AsSpan(_start, _length);

    /// <summary>
    /// Decodes the value at <paramref name="offset"/> (following pointers) into .NET values:
    /// <see cref="string"/>, <see cref="double"/>, <see cref="byte"/>[], <see cref="ushort"/>,
    /// <see cref="uint"/>, <see cref="int"/>, <see cref="ulong"/>, <see cref="UInt128"/>,
    /// <see cref="bool"/>, <see cref="float"/>, <see cref="Dictionary{TKey, TValue}"/> of string
    /// to value (maps) and <see cref="List{T}"/> of values (arrays).
    /// </summary>
    public object Decode(int offset) => Decode(offset, out _);

    /// <summary>As <see cref="Decode(int)"/>, and says where the value ends (after a pointer, not its target).</summary>
    public object Decode(int offset, out int next)
    {
        var budget = MaxValuesPerRecord;
        return DecodeValue(offset, 0, ref budget, out next);
    }

    /// <summary>
    /// Follows <paramref name="path"/> from the map at <paramref name="offset"/> and returns the
    /// string there, or null when a key is missing or a value on the way is not a map, or the
    /// value found is not a string. Allocates only the string it returns.
    /// </summary>
    public string? FindString(int offset, MaxMindPath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var field = Resolve(offset, out _);
        for (var i = 0; i < path.Count; i++)
        {
            if (field.Type != MaxMindDataType.Map)
            {
                return null;
            }

            if (!TryFindKey(field, path.Key(i), i, out field))
            {
                return null;
            }
        }

        return field.Type == MaxMindDataType.Utf8String ? ReadString(field) : null;
    }

    /// <summary>
    /// Checks that the value at <paramref name="offset"/> decodes — every type, size, pointer, key
    /// and string — without building it. Pointer targets already in <paramref name="checkedTargets"/>
    /// are not checked again; the targets checked here are added to it.
    /// </summary>
    public void Validate(int offset, HashSet<int> checkedTargets)
    {
        ArgumentNullException.ThrowIfNull(checkedTargets);
        ValidateValue(offset, 0, checkedTargets, out _);
    }

    private object DecodeValue(int offset, int depth, ref int budget, out int next)
    {
        if (--budget < 0)
        {
            throw Error(MaxMindFormatException.TooLarge, offset, $"a record of more than {MaxValuesPerRecord} values");
        }

        var field = ReadField(offset);
        if (field.Type == MaxMindDataType.Pointer)
        {
            next = field.End;
            var target = Target(field);
            CheckDepth(depth + 1, offset);
            return DecodeField(target, depth + 1, ref budget, out _);
        }

        return DecodeField(field, depth, ref budget, out next);
    }

    private object DecodeField(Field field, int depth, ref int budget, out int next)
    {
        var payload = Bytes.Slice(field.Payload, field.PayloadLength);
        next = field.End;
        switch (field.Type)
        {
            case MaxMindDataType.Utf8String:
                return ReadString(field);
            case MaxMindDataType.Double:
                return BinaryPrimitives.ReadDoubleBigEndian(payload);
            case MaxMindDataType.Float:
                return BinaryPrimitives.ReadSingleBigEndian(payload);
            case MaxMindDataType.Bytes:
                return payload.ToArray();
            case MaxMindDataType.Uint16:
                return (ushort)ReadUnsigned(payload);
            case MaxMindDataType.Uint32:
                return (uint)ReadUnsigned(payload);
            case MaxMindDataType.Int32:
                // Two's complement; a shorter field is padded with zero bytes on the left, as the
                // reference readers do, so it is never negative.
                return unchecked((int)(uint)ReadUnsigned(payload));
            case MaxMindDataType.Uint64:
                return ReadUnsigned(payload);
            case MaxMindDataType.Uint128:
                return ReadUnsigned128(payload);
            case MaxMindDataType.Boolean:
                return field.Size == 1;
            case MaxMindDataType.Map:
                {
                    CheckDepth(depth + 1, field.Offset);
                    var map = new Dictionary<string, object>(Math.Min(field.Size, 64), StringComparer.Ordinal);
                    var position = field.Payload;
                    for (var i = 0; i < field.Size; i++)
                    {
                        var key = ReadKey(position, out position);
                        var value = DecodeValue(position, depth + 1, ref budget, out position);
                        // A repeated key keeps its first value, as a path lookup finds it.
                        map.TryAdd(ReadString(key), value);
                    }

                    next = position;
                    return map;
                }

            case MaxMindDataType.Array:
                {
                    CheckDepth(depth + 1, field.Offset);
                    var array = new List<object>(Math.Min(field.Size, 64));
                    var position = field.Payload;
                    for (var i = 0; i < field.Size; i++)
                    {
                        array.Add(DecodeValue(position, depth + 1, ref budget, out position));
                    }

                    next = position;
                    return array;
                }

            default:
                throw NotAValue(field);
        }
    }

    private void ValidateValue(int offset, int depth, HashSet<int> checkedTargets, out int next)
    {
        var field = ReadField(offset);
        if (field.Type == MaxMindDataType.Pointer)
        {
            next = field.End;
            var target = Target(field);
            if (checkedTargets.Contains(target.Offset))
            {
                return;
            }

            CheckDepth(depth + 1, offset);
            ValidateField(target, depth + 1, checkedTargets, out _);
            checkedTargets.Add(target.Offset);
            return;
        }

        ValidateField(field, depth, checkedTargets, out next);
    }

    private void ValidateField(Field field, int depth, HashSet<int> checkedTargets, out int next)
    {
        next = field.End;
        switch (field.Type)
        {
            case MaxMindDataType.Utf8String:
                CheckUtf8(field);
                return;
            case MaxMindDataType.Map:
                {
                    CheckDepth(depth + 1, field.Offset);
                    var position = field.Payload;
                    for (var i = 0; i < field.Size; i++)
                    {
                        CheckUtf8(ReadKey(position, out position));
                        ValidateValue(position, depth + 1, checkedTargets, out position);
                    }

                    next = position;
                    return;
                }

            case MaxMindDataType.Array:
                {
                    CheckDepth(depth + 1, field.Offset);
                    var position = field.Payload;
                    for (var i = 0; i < field.Size; i++)
                    {
                        ValidateValue(position, depth + 1, checkedTargets, out position);
                    }

                    next = position;
                    return;
                }

            case MaxMindDataType.DataCacheContainer or MaxMindDataType.EndMarker:
                throw NotAValue(field);
            default:
                // Numbers, bytes and booleans: ReadField has checked their sizes already.
                return;
        }
    }

    /// <summary>Finds <paramref name="key"/> in <paramref name="map"/> and returns its value (pointers followed).</summary>
    private bool TryFindKey(Field map, ReadOnlySpan<byte> key, int depth, out Field value)
    {
        var position = map.Payload;
        for (var i = 0; i < map.Size; i++)
        {
            var candidate = ReadKey(position, out position);
            if (Bytes.Slice(candidate.Payload, candidate.PayloadLength).SequenceEqual(key))
            {
                value = Resolve(position, out _);
                return true;
            }

            position = Skip(position, depth + 1);
        }

        value = default;
        return false;
    }

    /// <summary>Returns where the value at <paramref name="offset"/> (at <paramref name="depth"/>) ends, without following pointers.</summary>
    private int Skip(int offset, int depth)
    {
        var field = ReadField(offset);
        switch (field.Type)
        {
            case MaxMindDataType.Map:
                {
                    CheckDepth(depth + 1, offset);
                    var position = field.Payload;
                    for (var i = 0; i < field.Size; i++)
                    {
                        position = Skip(position, depth + 1);
                        position = Skip(position, depth + 1);
                    }

                    return position;
                }

            case MaxMindDataType.Array:
                {
                    CheckDepth(depth + 1, offset);
                    var position = field.Payload;
                    for (var i = 0; i < field.Size; i++)
                    {
                        position = Skip(position, depth + 1);
                    }

                    return position;
                }

            case MaxMindDataType.DataCacheContainer or MaxMindDataType.EndMarker:
                throw NotAValue(field);
            default:
                return field.End;
        }
    }

    /// <summary>The field at <paramref name="offset"/>, or the one its pointer points to.</summary>
    private Field Resolve(int offset, out int next)
    {
        var field = ReadField(offset);
        next = field.End;
        return field.Type == MaxMindDataType.Pointer ? Target(field) : field;
    }

    /// <summary>A map key: a UTF-8 string, inline or through a pointer.</summary>
    private Field ReadKey(int offset, out int next)
    {
        var key = Resolve(offset, out next);
        if (key.Type != MaxMindDataType.Utf8String)
        {
            throw Error(MaxMindFormatException.BadMapKey, key.Offset, $"a map key of type {key.Type}; map keys must be UTF-8 strings");
        }

        return key;
    }

    private Field Target(Field pointer)
    {
        var target = ReadField(pointer.Size);
        if (target.Type == MaxMindDataType.Pointer)
        {
            throw Error(MaxMindFormatException.BadPointer, pointer.Offset, $"a pointer to offset {pointer.Size}, which holds another pointer; the specification forbids pointers to pointers");
        }

        return target;
    }

    /// <summary>Reads one control byte (and its extensions) and checks that the payload fits the section.</summary>
    private Field ReadField(int offset)
    {
        var bytes = Bytes;
        if ((uint)offset >= (uint)bytes.Length)
        {
            throw Error(MaxMindFormatException.Truncated, offset, $"The {_section} ({bytes.Length} bytes) ends before the value expected at its offset {offset}");
        }

        var position = offset;
        var control = bytes[position++];
        var type = (MaxMindDataType)(control >> 5);
        if (type == MaxMindDataType.Pointer)
        {
            return ReadPointer(bytes, offset, control);
        }

        if (type == MaxMindDataType.Extended)
        {
            Need(position, 1, offset, "an extended type byte");
            var extended = bytes[position++];
            var number = extended + 7;
            if (number is < 8 or > 15)
            {
                throw Error(MaxMindFormatException.BadType, offset, $"an extended type byte {extended} (type {number}); extended types are 8 to 15");
            }

            type = (MaxMindDataType)number;
        }

        var size = control & 0x1f;
        if (size >= 29)
        {
            var extra = size - 28;
            Need(position, extra, offset, "a size");
            size = extra switch
            {
                1 => 29 + bytes[position],
                2 => 285 + ((bytes[position] << 8) | bytes[position + 1]),
                _ => 65_821 + ((bytes[position] << 16) | (bytes[position + 1] << 8) | bytes[position + 2]),
            };
            position += extra;
        }

        var payloadLength = type switch
        {
            MaxMindDataType.Double => Exactly(8, size, type, offset),
            MaxMindDataType.Float => Exactly(4, size, type, offset),
            MaxMindDataType.Uint16 => AtMost(2, size, type, offset),
            MaxMindDataType.Uint32 or MaxMindDataType.Int32 => AtMost(4, size, type, offset),
            MaxMindDataType.Uint64 => AtMost(8, size, type, offset),
            MaxMindDataType.Uint128 => AtMost(16, size, type, offset),
            MaxMindDataType.Utf8String or MaxMindDataType.Bytes => size,
            MaxMindDataType.Boolean => size <= 1 ? 0 : throw Error(MaxMindFormatException.BadSize, offset, $"a boolean of size {size}; a boolean's size is its value, 0 or 1"),
            // Maps and arrays count entries; each entry takes at least one byte.
            MaxMindDataType.Map => (long)size * 2 <= bytes.Length - position ? 0 : throw Oversized(offset, $"a map of {size} pairs", bytes.Length - position),
            MaxMindDataType.Array => size <= bytes.Length - position ? 0 : throw Oversized(offset, $"an array of {size} values", bytes.Length - position),
            _ => 0,
        };
        if (payloadLength > _length - position)
        {
            // Formatted only on failure: this runs for every value read.
            Need(position, payloadLength, offset, $"a {type} of {payloadLength} bytes");
        }

        return new Field(type, size, offset, position, payloadLength);
    }

    private Field ReadPointer(ReadOnlySpan<byte> bytes, int offset, byte control)
    {
        // 001SSVVV: SS is the size, VVV the top bits of the value (ignored when SS = 3).
        var sizeBits = (control >> 3) & 3;
        var length = sizeBits + 1;
        var position = offset + 1;
        Need(position, length, offset, "a pointer");
        var high = control & 7;
        var p = bytes.Slice(position, length);
        var value = sizeBits switch
        {
            0 => (long)((high << 8) | p[0]),
            1 => ((high << 16) | (p[0] << 8) | p[1]) + 2_048L,
            2 => (((long)high << 24) | ((long)p[0] << 16) | ((long)p[1] << 8) | p[2]) + 526_336L,
            _ => BinaryPrimitives.ReadUInt32BigEndian(p),
        };
        if (value >= bytes.Length)
        {
            throw Error(MaxMindFormatException.BadPointer, offset, $"a pointer to offset {value}, past the end of the {_section} ({bytes.Length} bytes)");
        }

        // A pointer's Size holds its target; its payload is the pointer bytes themselves.
        return new Field(MaxMindDataType.Pointer, (int)value, offset, position, length);
    }

    private string ReadString(Field field)
    {
        CheckUtf8(field);
        return Encoding.UTF8.GetString(Bytes.Slice(field.Payload, field.PayloadLength));
    }

    private void CheckUtf8(Field field)
    {
        if (!Utf8.IsValid(Bytes.Slice(field.Payload, field.PayloadLength)))
        {
            throw Error(MaxMindFormatException.BadUtf8, field.Offset, $"a string of {field.PayloadLength} bytes that is not valid UTF-8");
        }
    }

    private static ulong ReadUnsigned(ReadOnlySpan<byte> payload)
    {
        ulong value = 0;
        foreach (var b in payload)
        {
            value = (value << 8) | b;
        }

        return value;
    }

    private static UInt128 ReadUnsigned128(ReadOnlySpan<byte> payload)
    {
        UInt128 value = 0;
        foreach (var b in payload)
        {
            value = (value << 8) | b;
        }

        return value;
    }

    private void Need(int position, int count, int offset, string what)
    {
        if (count > _length - position)
        {
            throw Error(MaxMindFormatException.Truncated, offset, $"{what} that runs {count - (_length - position)} bytes past the end of the {_section}");
        }
    }

    private int Exactly(int expected, int size, MaxMindDataType type, int offset) =>
        size == expected ? size : throw Error(MaxMindFormatException.BadSize, offset, $"a {type} of size {size}; it must be {expected} bytes");

    private int AtMost(int max, int size, MaxMindDataType type, int offset) =>
        size <= max ? size : throw Error(MaxMindFormatException.BadSize, offset, $"a {type} of size {size}; it may be at most {max} bytes");

    private MaxMindFormatException Oversized(int offset, string what, int left) =>
        Error(MaxMindFormatException.BadSize, offset, $"{what}, more than the {left} bytes left in the {_section} can hold");

    private void CheckDepth(int depth, int offset)
    {
        if (depth > MaxDepth)
        {
            throw Error(MaxMindFormatException.TooDeep, offset, $"values nested more than {MaxDepth} deep (or a pointer cycle)");
        }
    }

    private MaxMindFormatException NotAValue(Field field) =>
        Error(MaxMindFormatException.BadType, field.Offset, $"a {field.Type} where a value was expected");

    /// <summary>"The data section holds …", with the offset in the section and in the file.</summary>
    private MaxMindFormatException Error(string code, int offset, string what) =>
        new(code, (long)_start + offset, what.StartsWith("The ", StringComparison.Ordinal) ? what : $"The {_section} holds {what} at its offset {offset}");

    /// <summary>
    /// One decoded control byte. <see cref="Size"/> is the payload size, the entry count of a map
    /// or array, a boolean's value, or a pointer's target.
    /// </summary>
    private readonly record struct Field(MaxMindDataType Type, int Size, int Offset, int Payload, int PayloadLength)
    {
        public int End => Payload + PayloadLength;
    }
}

namespace Stele.Server.Enrichment;

/// <summary>The metadata map at the end of a MaxMind DB file (spec 2.0, "Database Metadata").</summary>
internal sealed record MaxMindMetadata
{
    public required uint NodeCount { get; init; }

    /// <summary>Bits per search tree record: 24, 28 or 32.</summary>
    public required int RecordSize { get; init; }

    /// <summary>4 or 6: whether the tree is keyed by IPv4 or IPv6 addresses.</summary>
    public required int IpVersion { get; init; }

    /// <summary>What the records hold, for example <c>GeoIP2-City</c> or <c>GeoLite2-Country</c>.</summary>
    public required string DatabaseType { get; init; }

    public required IReadOnlyList<string> Languages { get; init; }

    public required int BinaryFormatMajorVersion { get; init; }

    public required int BinaryFormatMinorVersion { get; init; }

    /// <summary>When the file was built, in seconds since 1970 (any value a uint64 holds).</summary>
    public required ulong BuildEpoch { get; init; }

    public required IReadOnlyDictionary<string, string> Description { get; init; }

    /// <summary>The build time, or null when <see cref="BuildEpoch"/> is beyond what a date can hold.</summary>
    public DateTimeOffset? BuildTime =>
        BuildEpoch <= (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds() ? DateTimeOffset.FromUnixTimeSeconds((long)BuildEpoch) : null;

    /// <summary>Reads the decoded metadata map; <paramref name="offset"/> (where it starts in the file) goes into errors.</summary>
    public static MaxMindMetadata FromMap(object decoded, long offset)
    {
        if (decoded is not Dictionary<string, object> map)
        {
            throw Bad(offset, $"The metadata is a {Describe(decoded)}, not a map");
        }

        var recordSize = Unsigned(map, "record_size", offset, required: true)!.Value;
        if (recordSize is not (24 or 28 or 32))
        {
            throw Bad(offset, $"The metadata gives a record_size of {recordSize}; this reader supports 24, 28 and 32-bit records");
        }

        var ipVersion = Unsigned(map, "ip_version", offset, required: true)!.Value;
        if (ipVersion is not (4 or 6))
        {
            throw Bad(offset, $"The metadata gives an ip_version of {ipVersion}; it must be 4 or 6");
        }

        var major = Unsigned(map, "binary_format_major_version", offset, required: true)!.Value;
        if (major != 2)
        {
            throw Bad(offset, $"The metadata gives binary_format_major_version {major}; this reader reads version 2");
        }

        var nodeCount = Unsigned(map, "node_count", offset, required: true)!.Value;
        if (nodeCount is 0 or > uint.MaxValue)
        {
            throw Bad(offset, $"The metadata gives a node_count of {nodeCount}; it must be 1 to {uint.MaxValue}");
        }

        return new MaxMindMetadata
        {
            NodeCount = (uint)nodeCount,
            RecordSize = (int)recordSize,
            IpVersion = (int)ipVersion,
            DatabaseType = Value<string>(map, "database_type", offset, required: true)!,
            Languages = Value<List<object>>(map, "languages", offset, required: false) is { } languages
                ? languages.Select(l => l as string ?? throw Bad(offset, $"The metadata's languages hold a {Describe(l)}, not a string")).ToList()
                : [],
            BinaryFormatMajorVersion = (int)major,
            BinaryFormatMinorVersion = (int)Math.Min(Unsigned(map, "binary_format_minor_version", offset, required: true)!.Value, int.MaxValue),
            BuildEpoch = Unsigned(map, "build_epoch", offset, required: true)!.Value,
            Description = Value<Dictionary<string, object>>(map, "description", offset, required: false) is { } description
                ? description.ToDictionary(d => d.Key, d => d.Value as string ?? throw Bad(offset, $"The metadata's description for '{d.Key}' is a {Describe(d.Value)}, not a string"), StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal),
        };
    }

    private static T? Value<T>(Dictionary<string, object> map, string key, long offset, bool required)
        where T : class
    {
        if (!map.TryGetValue(key, out var value))
        {
            return required ? throw Bad(offset, $"The metadata has no '{key}'") : null;
        }

        return value as T ?? throw Bad(offset, $"The metadata's '{key}' is a {Describe(value)}");
    }

    private static ulong? Unsigned(Dictionary<string, object> map, string key, long offset, bool required)
    {
        if (!map.TryGetValue(key, out var value))
        {
            return required ? throw Bad(offset, $"The metadata has no '{key}'") : null;
        }

        return value switch
        {
            ushort u16 => u16,
            uint u32 => u32,
            ulong u64 => u64,
            UInt128 u128 when u128 <= ulong.MaxValue => (ulong)u128,
            _ => throw Bad(offset, $"The metadata's '{key}' is a {Describe(value)}, not an unsigned integer"),
        };
    }

    private static string Describe(object value) => value switch
    {
        Dictionary<string, object> => "map",
        List<object> => "array",
        string => "string",
        byte[] => "byte string",
        UInt128 => "uint128",
        _ => value.GetType().Name,
    };

    private static MaxMindFormatException Bad(long offset, string message) =>
        new(MaxMindFormatException.BadMetadata, offset, message);
}

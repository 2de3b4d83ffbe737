using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Stele.Server.Ingestion;

/// <summary>
/// The reverse proxies whose <c>X-Forwarded-For</c> Stele believes: the <c>TrustedProxies</c>
/// setting, a comma-separated list of IP addresses and CIDR ranges (<c>10.0.0.0/8, ::1</c>).
/// IPv4-mapped IPv6 addresses match the IPv4 entries.
/// </summary>
internal sealed class TrustedProxies
{
    private readonly IPNetwork[] _networks;

    private TrustedProxies(IPNetwork[] networks)
    {
        _networks = networks;
    }

    public static TrustedProxies None { get; } = new([]);

    public bool IsEmpty => _networks.Length == 0;

    public int Count => _networks.Length;

    /// <summary>Parses the setting; on failure <paramref name="error"/> says which entry is wrong and why.</summary>
    public static bool TryParse(string? text, out TrustedProxies proxies, out string? error)
    {
        proxies = None;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        var networks = new List<IPNetwork>();
        foreach (var raw in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (raw.Length == 0)
            {
                error = "holds an empty entry; separate addresses and ranges with single commas";
                return false;
            }

            if (!TryParseEntry(raw, out var network, out error))
            {
                error = $"'{raw}' {error}";
                return false;
            }

            networks.Add(network);
        }

        proxies = new TrustedProxies([.. networks]);
        return true;
    }

    public bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in _networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryParseEntry(string entry, out IPNetwork network, out string? error)
    {
        network = default;
        var slash = entry.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? entry : entry[..slash];
        if (!IpAddressText.TryParse(addressText, out var address))
        {
            error = "is not an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8";
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        var bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var prefix = bits;
        if (slash >= 0 && (!int.TryParse(entry.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > bits))
        {
            error = $"has a prefix length that is not a number from 0 to {bits}";
            return false;
        }

        // 10.0.0.1/8 is almost always a typo for a single address or for 10.0.0.0/8: say so rather than guess.
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        for (var bit = prefix; bit < written * 8; bit++)
        {
            if ((bytes[bit / 8] & (0x80 >> (bit % 8))) != 0)
            {
                error = $"has address bits set beyond its /{prefix} prefix; write the network's first address";
                return false;
            }
        }

        network = new IPNetwork(address, prefix);
        error = null;
        return true;
    }
}

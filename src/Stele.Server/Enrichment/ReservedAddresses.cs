using System.Buffers.Binary;
using System.Net;

namespace Stele.Server.Enrichment;

/// <summary>
/// Addresses that name no place on the public Internet, so looking them up would be wrong or
/// meaningless: private (RFC 1918, RFC 4193), loopback, link-local, shared CGNAT space
/// (RFC 6598), multicast, documentation (RFC 5737, RFC 3849, RFC 9637), benchmarking (RFC 2544)
/// and the other blocks of the IANA special-purpose registries that are not globally reachable.
/// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged by their IPv4 address.
/// </summary>
internal static class ReservedAddresses
{
    private static readonly (uint Network, int Prefix)[] V4 =
    [
        (Ipv4(0, 0, 0, 0), 8),        // "this network" (RFC 791)
        (Ipv4(10, 0, 0, 0), 8),       // private (RFC 1918)
        (Ipv4(100, 64, 0, 0), 10),    // shared address space, carrier-grade NAT (RFC 6598)
        (Ipv4(127, 0, 0, 0), 8),      // loopback (RFC 1122)
        (Ipv4(169, 254, 0, 0), 16),   // link-local (RFC 3927)
        (Ipv4(172, 16, 0, 0), 12),    // private (RFC 1918)
        (Ipv4(192, 0, 0, 0), 24),     // IETF protocol assignments (RFC 6890)
        (Ipv4(192, 0, 2, 0), 24),     // documentation TEST-NET-1 (RFC 5737)
        (Ipv4(192, 88, 99, 0), 24),   // 6to4 relay anycast, deprecated (RFC 7526)
        (Ipv4(192, 168, 0, 0), 16),   // private (RFC 1918)
        (Ipv4(198, 18, 0, 0), 15),    // benchmarking (RFC 2544)
        (Ipv4(198, 51, 100, 0), 24),  // documentation TEST-NET-2 (RFC 5737)
        (Ipv4(203, 0, 113, 0), 24),   // documentation TEST-NET-3 (RFC 5737)
        (Ipv4(224, 0, 0, 0), 4),      // multicast (RFC 5771)
        (Ipv4(240, 0, 0, 0), 4),      // reserved, and 255.255.255.255 broadcast (RFC 1112, RFC 919)
    ];

    private static readonly (UInt128 Network, int Prefix)[] V6 =
    [
        (Ipv6(0x0000, 0), 96),        // unspecified ::, loopback ::1 and the deprecated IPv4-compatible ::a.b.c.d (RFC 4291)
        (Ipv6(0x0064, 0xff9b, 0x0001), 48), // local-use IPv4/IPv6 translation (RFC 8215)
        (Ipv6(0x0100, 0), 64),        // discard-only (RFC 6666)
        (Ipv6(0x2001, 0x0000), 23),   // IETF protocol assignments, Teredo included (RFC 2928, RFC 4380)
        (Ipv6(0x2001, 0x0db8), 32),   // documentation (RFC 3849)
        (Ipv6(0x3fff, 0), 20),        // documentation (RFC 9637)
        (Ipv6(0x5f00, 0), 16),        // segment routing SIDs (RFC 9602)
        (Ipv6(0xfc00, 0), 7),         // unique local (RFC 4193)
        (Ipv6(0xfe80, 0), 10),        // link-local (RFC 4291)
        (Ipv6(0xfec0, 0), 10),        // site-local, deprecated (RFC 3879)
        (Ipv6(0xff00, 0), 8),         // multicast (RFC 4291)
    ];

    public static bool Contains(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            return true;
        }

        if (written == 4)
        {
            var value = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            foreach (var (network, prefix) in V4)
            {
                if ((value & (uint)(ulong.MaxValue << (32 - prefix))) == network)
                {
                    return true;
                }
            }

            return false;
        }

        var value6 = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        foreach (var (network, prefix) in V6)
        {
            if ((value6 & (UInt128.MaxValue << (128 - prefix))) == network)
            {
                return true;
            }
        }

        return false;
    }

    private static uint Ipv4(byte a, byte b, byte c, byte d) => ((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d;

    /// <summary>An IPv6 network from its leading 16-bit groups; the rest are zero.</summary>
    private static UInt128 Ipv6(params ushort[] groups)
    {
        UInt128 value = 0;
        for (var i = 0; i < 8; i++)
        {
            value = (value << 16) | (i < groups.Length ? groups[i] : 0u);
        }

        return value;
    }
}

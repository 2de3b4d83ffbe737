using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http;

namespace Stele.Server.Ingestion;

/// <summary>
/// The address of the client behind a request. Normally the connection's remote address; when
/// the connection comes from a <see cref="TrustedProxies">trusted proxy</see>, the
/// <c>X-Forwarded-For</c> hops are read from the right, skipping trusted proxies, and the first
/// untrusted one is the client (a client can prepend anything to the header, but cannot forge the
/// hops its proxies append). A hop that is not an address stops the walk.
/// IPv4-mapped IPv6 addresses are reported as IPv4.
/// </summary>
internal sealed class ClientAddressResolver(TrustedProxies proxies)
{
    /// <summary>Hops examined at most; proxy chains are a few hops long.</summary>
    public const int MaxHops = 32;

    public IPAddress? Resolve(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var remote = Normalize(context.Connection.RemoteIpAddress);
        if (remote is null || proxies.IsEmpty || !proxies.Contains(remote))
        {
            return remote;
        }

        var header = context.Request.Headers["X-Forwarded-For"];
        if (header.Count == 0)
        {
            return remote;
        }

        var hops = new List<string>();
        foreach (var value in header)
        {
            if (value is not null)
            {
                hops.AddRange(value.Split(',', StringSplitOptions.TrimEntries));
            }
        }

        var current = remote;
        for (int i = hops.Count - 1, examined = 0; i >= 0 && examined < MaxHops && proxies.Contains(current); i--, examined++)
        {
            if (!TryParseHop(hops[i], out var hop))
            {
                break;
            }

            current = hop;
        }

        return current;
    }

    private static IPAddress? Normalize(IPAddress? address) =>
        address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;

    /// <summary>A hop is an address, optionally with a port: <c>203.0.113.7</c>, <c>203.0.113.7:4711</c>, <c>[2001:db8::1]:443</c>.</summary>
    private static bool TryParseHop(string hop, out IPAddress address)
    {
        address = IPAddress.None;
        var text = hop.AsSpan();
        if (text.StartsWith("[", StringComparison.Ordinal))
        {
            var close = text.IndexOf(']');
            if (close < 0 || (close + 1 < text.Length && (text[close + 1] != ':' || !IsPort(text[(close + 2)..]))))
            {
                return false;
            }

            text = text[1..close];
        }
        else if (text.IndexOf(':') is var colon and >= 0 && text.LastIndexOf(':') == colon)
        {
            // One colon: IPv4 with a port (an IPv6 address has at least two).
            if (!IsPort(text[(colon + 1)..]))
            {
                return false;
            }

            text = text[..colon];
        }

        if (!IpAddressText.TryParse(text, out var parsed))
        {
            return false;
        }

        address = Normalize(parsed)!;
        return true;
    }

    private static bool IsPort(ReadOnlySpan<char> text) =>
        ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _);
}

using System.Net;
using Microsoft.AspNetCore.Http;
using Stele.Server.Ingestion;

namespace Stele.Server.Tests.Enrichment;

/// <summary>
/// The TrustedProxies setting and the client address taken from X-Forwarded-For: only a trusted
/// proxy's header is read, from the right, and the first untrusted hop is the client.
/// </summary>
public sealed class ClientAddressTests
{
    private static TrustedProxies Proxies(string text)
    {
        Assert.True(TrustedProxies.TryParse(text, out var proxies, out var error), error);
        return proxies;
    }

    private static string? Resolve(string proxies, string remote, params string[] forwardedFor)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        if (forwardedFor.Length > 0)
        {
            context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        }

        return new ClientAddressResolver(Proxies(proxies)).Resolve(context)?.ToString();
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("  ", 0)]
    [InlineData("10.0.0.0/8", 1)]
    [InlineData("10.0.0.0/8, 192.168.1.5 ,fd00::/8,::1", 4)]
    [InlineData("0.0.0.0/0", 1)]
    [InlineData("::ffff:10.0.0.1", 1)]
    public void Addresses_and_cidr_ranges_are_accepted(string text, int count)
    {
        Assert.Equal(count, Proxies(text).Count);
    }

    [Theory]
    [InlineData("10.0.0.1/8", "bits set beyond")]
    [InlineData("10.0.0.0/33", "prefix length")]
    [InlineData("fd00::/129", "prefix length")]
    [InlineData("10.0.0.0/", "prefix length")]
    [InlineData("10.0.0.0/-1", "prefix length")]
    [InlineData("proxy.internal", "not an IP address")]
    [InlineData("1.2", "not an IP address")]
    [InlineData("010.0.0.1", "not an IP address")]
    [InlineData("fe80::1%eth0", "not an IP address")]
    [InlineData("10.0.0.0/8,,10.1.0.0/16", "empty entry")]
    public void A_bad_entry_is_refused_with_a_reason(string text, string reason)
    {
        Assert.False(TrustedProxies.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Ipv4_mapped_addresses_match_ipv4_ranges()
    {
        Assert.True(Proxies("10.0.0.0/8").Contains(IPAddress.Parse("::ffff:10.1.2.3")));
        Assert.False(Proxies("10.0.0.0/8").Contains(IPAddress.Parse("::ffff:11.1.2.3")));
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.0.0.2", new string[0], "10.0.0.2")]
    [InlineData("", "203.0.113.1", new[] { "81.2.69.142" }, "203.0.113.1")]
    [InlineData("10.0.0.0/8", "203.0.113.1", new[] { "81.2.69.142" }, "203.0.113.1")]
    [InlineData("10.0.0.0/8", "10.0.0.2", new[] { "81.2.69.142" }, "81.2.69.142")]
    [InlineData("10.0.0.0/8", "10.0.0.2", new[] { "81.2.69.142, 10.0.0.7" }, "81.2.69.142")]
    [InlineData("10.0.0.0/8", "10.0.0.2", new[] { "6.6.6.6, 81.2.69.142" }, "81.2.69.142")]
    [InlineData("10.0.0.0/8", "10.0.0.2", new[] { "6.6.6.6", "81.2.69.142" }, "81.2.69.142")]
    [InlineData("10.0.0.0/8", "10.0.0.2", new[] { "10.0.0.9, 10.0.0.7" }, "10.0.0.9")]
    [InlineData("10.0.0.0/8", "10.0.0.2", new[] { "81.2.69.142, not-an-address" }, "10.0.0.2")]
    [InlineData("10.0.0.0/8", "10.0.0.2", new[] { "81.2.69.142,, 10.0.0.7" }, "10.0.0.7")]
    [InlineData("10.0.0.0/8", "10.0.0.2", new[] { "81.2.69.142:4711" }, "81.2.69.142")]
    [InlineData("10.0.0.0/8", "10.0.0.2", new[] { "[2001:218::1]:443" }, "2001:218::1")]
    [InlineData("10.0.0.0/8", "10.0.0.2", new[] { "2001:218::1" }, "2001:218::1")]
    [InlineData("10.0.0.0/8", "10.0.0.2", new[] { "::ffff:81.2.69.142" }, "81.2.69.142")]
    [InlineData("10.0.0.0/8", "::ffff:10.0.0.2", new[] { "81.2.69.142" }, "81.2.69.142")]
    [InlineData("::1", "::1", new[] { "81.2.69.142" }, "81.2.69.142")]
    public void The_client_is_the_rightmost_hop_that_is_not_a_trusted_proxy(string proxies, string remote, string[] forwardedFor, string expected)
    {
        Assert.Equal(expected, Resolve(proxies, remote, forwardedFor));
    }

    [Fact]
    public void A_long_chain_of_trusted_hops_is_read_only_so_far()
    {
        var hops = string.Join(", ", Enumerable.Range(0, 100).Select(i => $"10.0.{i / 256}.{i % 256}"));
        var resolved = Resolve("10.0.0.0/8", "10.9.9.9", "81.2.69.142, " + hops);
        Assert.Equal($"10.0.0.{100 - ClientAddressResolver.MaxHops}", resolved);
    }
}

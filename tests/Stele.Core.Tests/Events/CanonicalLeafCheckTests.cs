using System.Text;
using Stele.Core.Events;
using static Stele.Core.Tests.Events.EventSamples;

namespace Stele.Core.Tests.Events;

/// <summary>
/// The allocation-free leaf check verification uses: it accepts the canonical leaves without escaped
/// strings, reads the same seq, ledger, id and digest as the parser, and never accepts bytes the
/// parser would not decode to those same fields.
/// </summary>
public sealed class CanonicalLeafCheckTests
{
    public static TheoryData<string> Records() => new() { "minimal", "full", "targets", "non-ascii", "unicode" };

    public static TheoryData<string> Unescaped() => new() { "minimal", "full", "targets", "non-ascii" };

    private static EventRecord Sample(string name) => Named(name);

    [Theory]
    [MemberData(nameof(Records))]
    public void A_canonical_leaf_is_accepted_unless_it_has_an_escaped_string_and_its_fields_are_the_parsers(string name)
    {
        var leaf = Encode(Sample(name), "ledger-ä", 12).Leaf;
        var parsed = EventLeafV1.Parse(leaf);
        var digest = new byte[32];

        var accepted = CanonicalLeafCheck.TryCheck(leaf, digest, out var located);

        // Escaped strings are left to the parser (which decodes them); everything else is checked here.
        Assert.Equal(name != "unicode", accepted);
        if (accepted)
        {
            Assert.Equal(parsed.Seq, located.Seq);
            Assert.Equal(parsed.Ledger, Encoding.UTF8.GetString(leaf.AsSpan()[located.Ledger]));
            Assert.Equal(parsed.Id, Encoding.UTF8.GetString(leaf.AsSpan()[located.Id]));
            Assert.Equal(parsed.PayloadDigest, digest);
        }
    }

    [Theory]
    [InlineData("reordered")]
    [InlineData("whitespace after a name")]
    [InlineData("whitespace before the end")]
    [InlineData("leading whitespace")]
    [InlineData("escaped")]
    [InlineData("extra member")]
    [InlineData("uppercase digest")]
    [InlineData("short digest")]
    [InlineData("trailing")]
    [InlineData("empty targets")]
    [InlineData("seq with a leading zero")]
    [InlineData("negative zero version")]
    [InlineData("seq with an exponent")]
    [InlineData("other outcome")]
    [InlineData("time without microseconds")]
    [InlineData("invalid day")]
    [InlineData("version 2")]
    [InlineData("missing action")]
    [InlineData("target without type")]
    public void A_leaf_that_is_not_exactly_canonical_is_not_accepted(string change)
    {
        var canonical = Utf8(Encode(Sample("full")).Leaf);
        var altered = change switch
        {
            "reordered" => canonical.Replace("\"ledger\":\"default\",\"seq\":0", "\"seq\":0,\"ledger\":\"default\"", StringComparison.Ordinal),
            "whitespace after a name" => canonical.Replace("\"seq\":", "\"seq\": ", StringComparison.Ordinal),
            "whitespace before the end" => canonical[..^1] + " }",
            "leading whitespace" => " " + canonical,
            "escaped" => canonical.Replace("\"acme\"", "\"\\u0061cme\"", StringComparison.Ordinal),
            "extra member" => canonical.Replace("{\"v\":1,", "{\"v\":1,\"x\":1,", StringComparison.Ordinal),
            "uppercase digest" => canonical[..^66] + canonical[^66..].ToUpperInvariant(),
            "short digest" => canonical[..^4] + "\"}",
            "trailing" => canonical + " ",
            "empty targets" => canonical.Replace(",\"tenant_id\"", ",\"targets\":[],\"tenant_id\"", StringComparison.Ordinal),
            "seq with a leading zero" => canonical.Replace("\"seq\":0", "\"seq\":00", StringComparison.Ordinal),
            "negative zero version" => canonical.Replace("\"version\":-7", "\"version\":-0", StringComparison.Ordinal),
            "seq with an exponent" => canonical.Replace("\"seq\":0", "\"seq\":0e0", StringComparison.Ordinal),
            "other outcome" => canonical.Replace("\"failure\"", "\"Failure\"", StringComparison.Ordinal),
            "time without microseconds" => canonical.Replace(".123456Z", "Z", StringComparison.Ordinal),
            "invalid day" => canonical.Replace("2026-11-22T03:16:33", "2026-11-31T03:16:33", StringComparison.Ordinal),
            "version 2" => canonical.Replace("{\"v\":1,", "{\"v\":2,", StringComparison.Ordinal),
            "missing action" => canonical.Replace("\"action\":\"document.deleted\",", string.Empty, StringComparison.Ordinal),
            "target without type" => Utf8(Encode(Sample("targets")).Leaf).Replace("{\"type\":\"group\"}", "{}", StringComparison.Ordinal),
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        };
        Assert.NotEqual(canonical, altered);

        Assert.False(CanonicalLeafCheck.TryCheck(Encoding.UTF8.GetBytes(altered), new byte[32], out _));
    }

    [Theory]
    [MemberData(nameof(Unescaped))]
    public void No_single_byte_change_is_accepted_unless_the_parser_reads_the_same_fields_from_the_changed_leaf(string name)
    {
        // Every position, replaced by bytes that matter to JSON or to the formats, deleted, or doubled.
        var leaf = Encode(Sample(name), "ledger-a", 7).Leaf;
        byte[] replacements = [(byte)' ', (byte)'0', (byte)'1', (byte)'9', (byte)'a', (byte)'A', (byte)'-', (byte)'"', (byte)'\\', (byte)',', (byte)':', (byte)'}', (byte)']', (byte)'[', 0x00, 0x7f, 0xc3, 0xff];
        var variants = new List<byte[]>();
        for (var i = 0; i < leaf.Length; i++)
        {
            foreach (var b in replacements)
            {
                if (leaf[i] != b)
                {
                    var changed = (byte[])leaf.Clone();
                    changed[i] = b;
                    variants.Add(changed);
                }
            }

            variants.Add([.. leaf[..i], .. leaf[(i + 1)..]]);
            variants.Add([.. leaf[..i], leaf[i], .. leaf[i..]]);
        }

        var accepted = 0;
        foreach (var variant in variants)
        {
            var digest = new byte[32];
            if (!CanonicalLeafCheck.TryCheck(variant, digest, out var located))
            {
                continue;
            }

            // Accepted: the bytes are a canonical leaf, so the parser decodes them, writes them back
            // identically, and reads the same fields.
            accepted++;
            var parsed = EventLeafV1.Parse(variant);
            Assert.Equal(variant, EventLeafV1.Write(parsed));
            Assert.Equal(parsed.Seq, located.Seq);
            Assert.Equal(parsed.Ledger, Encoding.UTF8.GetString(variant.AsSpan()[located.Ledger]));
            Assert.Equal(parsed.Id, Encoding.UTF8.GetString(variant.AsSpan()[located.Id]));
            Assert.Equal(parsed.PayloadDigest, digest);
        }

        // Some changes do give another canonical leaf (a digit of the digest, a letter of the actor): the test saw them.
        Assert.True(accepted > 0);
    }
}

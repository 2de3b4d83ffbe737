using System.Text;
using Stele.Core.Events;
using static Stele.Core.Tests.Events.EventSamples;

namespace Stele.Core.Tests.Events;

/// <summary>The fast leaf reader accepts exactly the canonical leaves, and decodes them as the strict parser does.</summary>
public sealed class CanonicalLeafReaderTests
{
    public static TheoryData<string> Records() => new() { "minimal", "full", "targets", "unicode" };

    private static EventRecord Sample(string name) => Named(name);

    [Theory]
    [MemberData(nameof(Records))]
    public void A_canonical_leaf_is_read_by_the_fast_path_exactly_as_the_strict_parser_reads_it(string name)
    {
        var leaf = Encode(Sample(name), "ledger-a", 12).Leaf;

        var fast = CanonicalLeafReader.TryRead(leaf);

        Assert.NotNull(fast);
        Assert.Equal(leaf, EventLeafV1.Write(fast));
        var strict = EventLeafV1.ParseStrict(leaf);
        Assert.Equal(strict.Ledger, fast.Ledger);
        Assert.Equal(strict.Seq, fast.Seq);
        Assert.Equal(strict.ActorId, fast.ActorId);
        Assert.Equal(strict.Targets, fast.Targets);
        Assert.Equal(strict.PayloadDigest, fast.PayloadDigest);
        Assert.Equal(strict.OccurredAt, fast.OccurredAt);
    }

    [Theory]
    [InlineData("reordered")]
    [InlineData("whitespace")]
    [InlineData("escaped")]
    [InlineData("extra member")]
    [InlineData("uppercase digest")]
    [InlineData("trailing")]
    [InlineData("empty targets")]
    public void A_leaf_that_is_not_canonical_is_left_to_the_strict_parser(string change)
    {
        var canonical = Utf8(Encode(Sample("full")).Leaf);
        var altered = change switch
        {
            "reordered" => canonical.Replace("\"ledger\":\"default\",\"seq\":0", "\"seq\":0,\"ledger\":\"default\"", StringComparison.Ordinal),
            "whitespace" => canonical.Replace(",\"seq\"", ", \"seq\"", StringComparison.Ordinal),
            "escaped" => canonical.Replace("\"acme\"", "\"\\u0061cme\"", StringComparison.Ordinal),
            "extra member" => canonical.Replace("{\"v\":1,", "{\"v\":1,\"x\":1,", StringComparison.Ordinal),
            "uppercase digest" => canonical[..^66] + canonical[^66..].ToUpperInvariant().Replace("\"}", "\"}", StringComparison.Ordinal),
            "trailing" => canonical + " ",
            "empty targets" => canonical.Replace(",\"tenant_id\"", ",\"targets\":[],\"tenant_id\"", StringComparison.Ordinal),
            _ => throw new ArgumentOutOfRangeException(nameof(change)),
        };
        Assert.NotEqual(canonical, altered);

        Assert.Null(CanonicalLeafReader.TryRead(Encoding.UTF8.GetBytes(altered)));
        Assert.Throws<EventFormatException>(() => EventLeafV1.ParseStrict(Encoding.UTF8.GetBytes(altered)));
        Assert.Throws<EventFormatException>(() => EventLeafV1.Parse(Encoding.UTF8.GetBytes(altered)));
    }
}

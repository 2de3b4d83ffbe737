using Stele.Core.Tiles;

namespace Stele.Core.Tests.Tiles;

public sealed class EntryBundleTests
{
    [Fact]
    public void Entries_round_trip_with_big_endian_length_prefixes()
    {
        byte[][] entries = [[], [0x41], new byte[300], new byte[ushort.MaxValue]];
        var bundle = EntryBundle.Encode([.. entries.Select(e => (ReadOnlyMemory<byte>)e)]);
        Assert.Equal(new byte[] { 0x00, 0x00, 0x00, 0x01, 0x41, 0x01, 0x2c }, bundle[..7]);
        Assert.Equal(entries, EntryBundle.Decode(bundle, 4));
    }

    [Theory]
    [InlineData(new byte[] { 0x00 })]
    [InlineData(new byte[] { 0x00, 0x02, 0x41 })]
    [InlineData(new byte[] { 0x00, 0x01, 0x41, 0x00 })]
    [InlineData(new byte[] { 0xff, 0xff, 0x00 })]
    public void Truncated_bundles_are_rejected(byte[] bundle)
    {
        var error = Assert.Throws<TileFormatException>(() => EntryBundle.Decode(bundle));
        Assert.Equal("entry_bundle_truncated", error.Code);
    }

    [Fact]
    public void Bundles_with_more_than_256_entries_are_rejected()
    {
        var bundle = new byte[257 * 2];
        var error = Assert.Throws<TileFormatException>(() => EntryBundle.Decode(bundle));
        Assert.Equal("entry_bundle_too_many_entries", error.Code);
        Assert.Equal(256, EntryBundle.Decode(bundle.AsSpan(0, 256 * 2)).Count);
    }

    [Fact]
    public void A_bundle_with_a_different_entry_count_than_its_tile_is_rejected()
    {
        var bundle = EntryBundle.Encode([new byte[] { 1 }, new byte[] { 2 }]);
        Assert.Equal("entry_bundle_wrong_count", Assert.Throws<TileFormatException>(() => EntryBundle.Decode(bundle, 3)).Code);
    }

    [Fact]
    public void Encoding_rejects_oversized_entries_and_bundles()
    {
        Assert.Throws<ArgumentException>(() => EntryBundle.Encode([new byte[ushort.MaxValue + 1]]));
        Assert.Throws<ArgumentOutOfRangeException>(() => EntryBundle.Encode([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => EntryBundle.Encode([.. Enumerable.Repeat((ReadOnlyMemory<byte>)new byte[1], 257)]));
    }
}

using Stele.Core.Tiles;

namespace Stele.Core.Tests.Tiles;

public sealed class TilePathTests
{
    [Theory]
    [InlineData(0, 0L, 256, "tile/0/000")]
    [InlineData(1, 0L, 1, "tile/1/000.p/1")]
    [InlineData(0, 1L, 44, "tile/0/001.p/44")]
    [InlineData(63, 999L, 255, "tile/63/999.p/255")]
    [InlineData(2, 1000L, 256, "tile/2/x001/000")]
    [InlineData(5, 123456078L, 2, "tile/5/x123/x456/078.p/2")]
    [InlineData(0, long.MaxValue, 256, "tile/0/x009/x223/x372/x036/x854/x775/807")]
    public void Tile_paths_format_and_parse_back(int level, long index, int width, string path)
    {
        var tile = new TileCoordinate(level, index, width);
        Assert.Equal(path, TilePath.Format(tile));
        Assert.True(TilePath.TryParse(path, out var parsed, out var isBundle));
        Assert.False(isBundle);
        Assert.Equal(tile, parsed);
    }

    [Theory]
    [InlineData(0L, 256, "tile/entries/000")]
    [InlineData(1L, 44, "tile/entries/001.p/44")]
    [InlineData(1234067L, 3, "tile/entries/x001/x234/067.p/3")]
    public void Entry_bundle_paths_format_and_parse_back(long index, int width, string path)
    {
        Assert.Equal(path, TilePath.FormatEntries(index, width));
        Assert.True(TilePath.TryParse(path, out var parsed, out var isBundle));
        Assert.True(isBundle);
        Assert.Equal(new TileCoordinate(0, index, width), parsed);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("tile/")]
    [InlineData("tile/0")]
    [InlineData("tile/0/")]
    [InlineData("tile/0/0")]
    [InlineData("tile/0/00")]
    [InlineData("tile/0/0000")]
    [InlineData("tile/0/1")]
    [InlineData("tile/00/000")]
    [InlineData("tile/01/000")]
    [InlineData("tile/64/000")]
    [InlineData("tile/-1/000")]
    [InlineData("tile/+1/000")]
    [InlineData("tile/a/000")]
    [InlineData("tile/0/x000/001")]
    [InlineData("tile/0/001/000")]
    [InlineData("tile/0/x001")]
    [InlineData("tile/0/x001/x000")]
    [InlineData("tile/0/x1/000")]
    [InlineData("tile/0/x0001/000")]
    [InlineData("tile/0/y001/000")]
    [InlineData("tile/0/x001//000")]
    [InlineData("tile/0/00a")]
    [InlineData("tile/0/000.p/0")]
    [InlineData("tile/0/000.p/256")]
    [InlineData("tile/0/000.p/01")]
    [InlineData("tile/0/000.p/")]
    [InlineData("tile/0/000.p")]
    [InlineData("tile/0/000.p/1/")]
    [InlineData("tile/0/000.p/1x")]
    [InlineData("tile/0/000.P/1")]
    [InlineData("tile/0/000/")]
    [InlineData("/tile/0/000")]
    [InlineData("tile/0/000 ")]
    [InlineData("tiles/0/000")]
    [InlineData("tile/entries/")]
    [InlineData("tile/entries/0")]
    [InlineData("tile/entries/000.p/0")]
    [InlineData("tile/entries/000.p/256")]
    [InlineData("tile/entries/x000/000")]
    [InlineData("tile/data/000")]
    [InlineData("tile/8/0/001")]
    [InlineData("tile/3/5/x123/x456/078")]
    [InlineData("tile/0/x009/x223/x372/x036/x854/x775/808")]
    [InlineData("tile/0/x999/x999/x999/x999/x999/x999/999")]
    public void Malformed_paths_are_rejected(string? path)
    {
        Assert.False(TilePath.TryParse(path, out _, out _));
    }

    [Fact]
    public void Coordinates_reject_impossible_values()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TileCoordinate(0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TileCoordinate(0, 0, 257));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TileCoordinate(-1, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TileCoordinate(64, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TileCoordinate(0, -1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => TilePath.FormatEntries(0, 0));
    }
}

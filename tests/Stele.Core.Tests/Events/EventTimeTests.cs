using Stele.Core.Events;

namespace Stele.Core.Tests.Events;

/// <summary>The hand-written v1 time format agrees with .NET's general formatting and parsing of it.</summary>
public sealed class EventTimeTests
{
    [Theory]
    [InlineData("2026-11-22T03:16:33.123456Z")]
    [InlineData("0001-01-01T00:00:00.000000Z")]
    [InlineData("9999-12-31T23:59:59.999999Z")]
    [InlineData("2024-02-29T12:00:00.000001Z")]
    [InlineData("2023-02-29T12:00:00.000001Z")]
    [InlineData("2026-13-01T00:00:00.000000Z")]
    [InlineData("2026-11-22T24:00:00.000000Z")]
    [InlineData("2026-11-22T03:60:00.000000Z")]
    [InlineData("2026-11-22T03:16:33.12345Z")]
    [InlineData("2026-11-22T03:16:33.1234567Z")]
    [InlineData("2026-11-22 03:16:33.123456Z")]
    [InlineData("2026-11-22T03:16:33.123456+")]
    [InlineData("2026-11-22T03:16:33.12345aZ")]
    [InlineData("+026-11-22T03:16:33.123456Z")]
    [InlineData("2026-11-22T03:16:33.123456z")]
    public void Parsing_agrees_with_the_general_parser(string text)
    {
        var fast = EventTime.TryParse(text, out var fastTime);
        var general = EventTime.TryParseWithFormat(text, out var generalTime);

        Assert.Equal(general, fast);
        Assert.Equal(generalTime, fastTime);
        if (fast)
        {
            Assert.Equal(text, EventTime.ToText(fastTime));
        }
    }

    [Fact]
    public void Writing_truncates_to_microseconds_and_agrees_with_the_general_formatter()
    {
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var time = new DateTimeOffset(random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), TimeSpan.Zero);
            var expected = EventTime.Truncate(time).UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(expected, EventTime.ToText(time));
            Assert.True(EventTime.TryParse(expected, out var back));
            Assert.Equal(EventTime.Truncate(time), back);
        }
    }
}

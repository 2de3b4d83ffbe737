using Stele.Core.Events;

namespace Stele.Core.Tests.Events;

public sealed class EventIdTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 3, 16, 33, 123, TimeSpan.Zero);

    [Fact]
    public void A_new_id_is_valid_and_carries_its_millisecond()
    {
        var id = new EventIdGenerator().Next(Now);

        Assert.True(EventId.IsValid(id), id);
        Assert.StartsWith("evt_", id, StringComparison.Ordinal);
        Assert.Equal(30, id.Length);
        Assert.Equal(Now, EventId.GetTimestamp(id));
    }

    [Fact]
    public void The_timestamp_is_the_first_ten_crockford_digits()
    {
        // 80 random bits are exactly 16 digits, so the first 10 digits are the 48-bit time alone (value from Python).
        var id = new EventIdGenerator().Next(DateTimeOffset.FromUnixTimeMilliseconds(0x0123456789AB));

        Assert.StartsWith("evt_014D2PF2DB", id, StringComparison.Ordinal);
    }

    [Fact]
    public void Ids_from_one_millisecond_strictly_increase()
    {
        var generator = new EventIdGenerator();
        var ids = Enumerable.Range(0, 2000).Select(_ => generator.Next(Now)).ToList();

        for (var i = 1; i < ids.Count; i++)
        {
            Assert.True(string.CompareOrdinal(ids[i - 1], ids[i]) < 0, $"{ids[i - 1]} !< {ids[i]}");
        }
    }

    [Fact]
    public void Ids_keep_increasing_when_the_clock_steps_back()
    {
        var generator = new EventIdGenerator();
        var later = generator.Next(Now);
        var earlier = generator.Next(Now.AddSeconds(-5));

        Assert.True(string.CompareOrdinal(later, earlier) < 0);
    }

    [Fact]
    public void The_shared_generator_gives_distinct_valid_ids()
    {
        var ids = Enumerable.Range(0, 100).Select(_ => EventId.New(DateTimeOffset.UtcNow)).ToList();

        Assert.All(ids, id => Assert.True(EventId.IsValid(id)));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("evt_01JDQ4Z8K9M2N3P4Q5R6S7T8V9", true)]
    [InlineData("evt_7ZZZZZZZZZZZZZZZZZZZZZZZZZ", true)]
    [InlineData("evt_8ZZZZZZZZZZZZZZZZZZZZZZZZZ", false)]
    [InlineData("evt_01jdq4z8k9m2n3p4q5r6s7t8v9", false)]
    [InlineData("evt_01JDQ4Z8K9M2N3P4Q5R6S7T8VI", false)]
    [InlineData("evt_01JDQ4Z8K9M2N3P4Q5R6S7T8VU", false)]
    [InlineData("evt_01JDQ4Z8K9M2N3P4Q5R6S7T8V", false)]
    [InlineData("evx_01JDQ4Z8K9M2N3P4Q5R6S7T8V9", false)]
    [InlineData("01JDQ4Z8K9M2N3P4Q5R6S7T8V9", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Validity_follows_the_prefix_alphabet_and_length(string? id, bool valid)
    {
        Assert.Equal(valid, EventId.IsValid(id));
    }
}

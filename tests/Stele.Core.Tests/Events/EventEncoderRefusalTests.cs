using Stele.Core.Events;
using static Stele.Core.Tests.Events.EventSamples;

namespace Stele.Core.Tests.Events;

public sealed class EventEncoderRefusalTests
{
    [Fact]
    public void An_event_without_an_actor_id_cannot_be_encoded()
    {
        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { ActorId = "" }));
        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { ActorId = null! }));
    }

    [Fact]
    public void An_event_without_an_action_cannot_be_encoded()
    {
        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { Action = "" }));
    }

    [Fact]
    public void A_target_without_a_type_cannot_be_encoded()
    {
        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { Targets = [new EventTarget { Type = "" }] }));
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    [InlineData("null")]
    public void Metadata_that_is_not_an_object_cannot_be_encoded(string json)
    {
        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { Metadata = Json(json) }));
        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { Targets = [new EventTarget { Type = "t", Metadata = Json(json) }] }));
    }

    [Fact]
    public void A_default_json_element_as_metadata_cannot_be_encoded()
    {
        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { Metadata = default(System.Text.Json.JsonElement) }));
    }

    public static TheoryData<int> LoneSurrogateCases => [0, 1, 2];

    [Theory]
    [MemberData(nameof(LoneSurrogateCases))]
    public void Strings_with_lone_surrogates_cannot_be_encoded(int which)
    {
        // Built in code: attribute strings are stored as UTF-8, which would turn a lone surrogate into U+FFFD.
        var bad = which switch
        {
            0 => "\ud800",
            1 => "a\udc00b",
            _ => "end\ud83d",
        };
        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { ActorName = bad }));
        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { ActorId = bad }));
        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { Targets = [new EventTarget { Type = bad }] }));
    }

    [Fact]
    public void Metadata_with_an_escaped_lone_surrogate_cannot_be_encoded()
    {
        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { Metadata = Json("""{"a":"\ud800"}""") }));
        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { Metadata = Json("""{"\udfff":1}""") }));
    }

    [Fact]
    public void Metadata_nested_deeper_than_the_limit_cannot_be_encoded()
    {
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 70)) + "1" + new string('}', 70);
        using var document = System.Text.Json.JsonDocument.Parse(deep, new System.Text.Json.JsonDocumentOptions { MaxDepth = 100 });

        Assert.Throws<ArgumentException>(() => Encode(Minimal() with { Metadata = document.RootElement }));
    }

    [Fact]
    public void The_salt_must_be_32_bytes()
    {
        Assert.Throws<ArgumentException>(() => EventEncoderV1.Encode(Minimal(), "default", 0, Id, ReceivedAt, new byte[31]));
        Assert.Throws<ArgumentException>(() => EventEncoderV1.Encode(Minimal(), "default", 0, Id, ReceivedAt, new byte[33]));
    }

    [Fact]
    public void Seq_cannot_be_negative_and_ledger_and_id_cannot_be_empty()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EventEncoderV1.Encode(Minimal(), "default", -1, Id, ReceivedAt, Salt));
        Assert.Throws<ArgumentException>(() => EventEncoderV1.Encode(Minimal(), "", 0, Id, ReceivedAt, Salt));
        Assert.Throws<ArgumentException>(() => EventEncoderV1.Encode(Minimal(), "default", 0, "", ReceivedAt, Salt));
    }
}

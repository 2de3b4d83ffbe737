using System.Text;
using System.Text.Json;
using Stele.Core.Events;
using static Stele.Core.Tests.Events.EventSamples;

namespace Stele.Core.Tests.Events;

public sealed class EventDecodingTests
{
    private const string MinimalLeaf =
        """{"v":1,"ledger":"default","seq":0,"id":"evt_01JDQ4Z8K9M2N3P4Q5R6S7T8V9","received_at":"2026-11-22T03:16:34.000001Z","occurred_at":"2026-11-22T03:16:33.123456Z","actor_id":"usr_1","action":"document.deleted","outcome":"success","payload_digest":"843a9cbda6a5e5a77b1770fc9b6a6b7fa08a1350c7b904f6e3af9dd34aa590fe"}""";

    private static EventRecord Full() => new()
    {
        ActorId = "usr_1",
        ActorName = "José \"J\" 日本 🙂\n",
        ActorType = "user",
        Action = "document.shared",
        ActionCategory = "",
        Resource = "document",
        ResourceId = "doc_42",
        ResourceName = "Q3 <plan>",
        Targets =
        [
            new EventTarget { Type = "user", Id = "usr_2", Name = "Bob", Metadata = Json("""{"role":"editor","n":[1.50,null]}""") },
            new EventTarget { Type = "group" },
        ],
        Metadata = Json("""{"changes":{"before":{"a":1},"after":{"a":2e0}},"ok":true}"""),
        OccurredAt = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1_234_560),
        TenantId = "acme",
        SessionId = "ses_9",
        IpAddress = "2001:db8::1",
        IpCountry = "JP",
        IpCity = "東京",
        UserAgent = "curl/8.0",
        Outcome = EventOutcome.Failure,
        Version = -7,
    };

    [Fact]
    public void A_parsed_leaf_exposes_every_member()
    {
        var leaf = EventLeafV1.Parse(Encoding.UTF8.GetBytes(MinimalLeaf));

        Assert.Equal(1, leaf.FormatVersion);
        Assert.Equal("default", leaf.Ledger);
        Assert.Equal(0, leaf.Seq);
        Assert.Equal(Id, leaf.Id);
        Assert.Equal(ReceivedAt, leaf.ReceivedAt);
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 3, 16, 33, TimeSpan.Zero).AddTicks(1_234_560), leaf.OccurredAt);
        Assert.Equal("usr_1", leaf.ActorId);
        Assert.Equal("document.deleted", leaf.Action);
        Assert.Null(leaf.ActorType);
        Assert.Empty(leaf.Targets);
        Assert.Equal(EventOutcome.Success, leaf.Outcome);
        Assert.Null(leaf.Version);
        Assert.Equal("843a9cbda6a5e5a77b1770fc9b6a6b7fa08a1350c7b904f6e3af9dd34aa590fe", Convert.ToHexStringLower(leaf.PayloadDigest));
    }

    [Fact]
    public void Encoding_then_parsing_gives_back_the_same_event()
    {
        var original = Full();
        var encoded = Encode(original, "acme-prod", 12_345_678_901);

        var leaf = EventLeafV1.Parse(encoded.Leaf);
        var payload = EventPayloadV1.Parse(encoded.Payload);
        var rebuilt = leaf.ToRecord(payload);

        Assert.Equal("acme-prod", leaf.Ledger);
        Assert.Equal(12_345_678_901, leaf.Seq);
        Assert.Equal(Salt, payload.Salt);
        Assert.Equal(original.ActorName, rebuilt.ActorName);
        Assert.Equal(original.ResourceName, rebuilt.ResourceName);
        Assert.Equal(original.IpCity, rebuilt.IpCity);
        Assert.Equal(original.OccurredAt, rebuilt.OccurredAt);
        Assert.Equal(original.Version, rebuilt.Version);
        Assert.Equal(original.Outcome, rebuilt.Outcome);
        Assert.Equal(original.Metadata!.Value.GetRawText(), rebuilt.Metadata!.Value.GetRawText());
        Assert.Equal(2, rebuilt.Targets.Count);
        Assert.Equal("Bob", rebuilt.Targets[0].Name);
        Assert.Equal("""{"role":"editor","n":[1.50,null]}""", rebuilt.Targets[0].Metadata!.Value.GetRawText());
        Assert.Equal(new EventTarget { Type = "group" }, rebuilt.Targets[1]);
        // Everything else: the rebuilt record encodes to the very same bytes.
        var again = Encode(rebuilt, "acme-prod", 12_345_678_901);
        Assert.Equal(encoded.Leaf, again.Leaf);
        Assert.Equal(encoded.Payload, again.Payload);
    }

    [Fact]
    public void Rebuilding_without_a_payload_leaves_the_erasable_fields_null()
    {
        var encoded = Encode(Full());

        var rebuilt = EventLeafV1.Parse(encoded.Leaf).ToRecord(null);

        Assert.Null(rebuilt.ActorName);
        Assert.Null(rebuilt.ResourceName);
        Assert.Null(rebuilt.IpAddress);
        Assert.Null(rebuilt.IpCity);
        Assert.Null(rebuilt.UserAgent);
        Assert.Null(rebuilt.Metadata);
        Assert.Equal(new EventTarget { Type = "user", Id = "usr_2" }, rebuilt.Targets[0]);
        Assert.Equal("usr_1", rebuilt.ActorId);
        Assert.Equal("JP", rebuilt.IpCountry);
        Assert.Equal("ses_9", rebuilt.SessionId);
    }

    [Fact]
    public void A_payload_whose_targets_do_not_line_up_with_the_leaf_is_refused()
    {
        var withTargets = EventPayloadV1.Parse(Encode(Full()).Payload);
        var leaf = EventLeafV1.Parse(Encode(Minimal()).Leaf);

        var ex = Assert.Throws<EventFormatException>(() => leaf.ToRecord(withTargets));
        Assert.Equal(EventFormatException.TargetsMismatch, ex.Code);
    }

    [Theory]
    [InlineData("""{"v":2,"ledger":"default"}""", EventFormatException.UnsupportedVersion)]
    [InlineData("""{"v":"1","ledger":"default"}""", EventFormatException.UnsupportedVersion)]
    [InlineData("""{"ledger":"default"}""", EventFormatException.MissingMember)]
    [InlineData("""[1,2]""", EventFormatException.NotAnObject)]
    [InlineData("""{"v":1""", EventFormatException.InvalidJson)]
    [InlineData("", EventFormatException.InvalidJson)]
    public void Malformed_leaves_are_refused_with_a_specific_code(string leaf, string code)
    {
        var ex = Assert.Throws<EventFormatException>(() => EventLeafV1.Parse(Encoding.UTF8.GetBytes(leaf)));
        Assert.Equal(code, ex.Code);
    }

    [Theory]
    [InlineData("\"action\":\"document.deleted\",", "", EventFormatException.MissingMember)]
    [InlineData("\"seq\":0", "\"seq\":\"0\"", EventFormatException.WrongType)]
    [InlineData("\"seq\":0", "\"seq\":-1", EventFormatException.InvalidValue)]
    [InlineData("\"seq\":0", "\"seq\":0.5", EventFormatException.WrongType)]
    [InlineData("\"actor_id\":\"usr_1\"", "\"actor_id\":null", EventFormatException.WrongType)]
    [InlineData("\"outcome\":\"success\"", "\"outcome\":\"Success\"", EventFormatException.InvalidValue)]
    [InlineData("\"outcome\":\"success\"", "\"outcome\":\"success\",\"colour\":\"red\"", EventFormatException.UnknownMember)]
    [InlineData("\"outcome\":\"success\"", "\"outcome\":\"success\",\"outcome\":\"success\"", EventFormatException.DuplicateMember)]
    [InlineData("03:16:33.123456Z", "03:16:33.123456+00:00", EventFormatException.InvalidValue)]
    [InlineData("03:16:33.123456Z", "03:16:33.123Z", EventFormatException.InvalidValue)]
    [InlineData("843a9cbd", "843A9CBD", EventFormatException.InvalidValue)]
    [InlineData("\"v\":1,", "\"v\":1, ", EventFormatException.NotCanonical)]
    [InlineData("\"action\":\"document.deleted\",\"outcome\"", "\"outcome\":\"success\",\"action\":\"document.deleted\",\"x\"", EventFormatException.UnknownMember)]
    [InlineData("\"ledger\":\"default\",\"seq\":0", "\"seq\":0,\"ledger\":\"default\"", EventFormatException.NotCanonical)]
    [InlineData("\"usr_1\"", "\"usr\\u005f1\"", EventFormatException.NotCanonical)]
    [InlineData("\"usr_1\"", "\"usr\\ud8001\"", EventFormatException.InvalidJson)]
    [InlineData("\"outcome\"", "\"targets\":{},\"outcome\"", EventFormatException.WrongType)]
    public void Leaves_that_differ_from_the_format_in_one_place_are_refused(string find, string replace, string code)
    {
        Assert.Contains(find, MinimalLeaf, StringComparison.Ordinal);
        var bad = MinimalLeaf.Replace(find, replace, StringComparison.Ordinal);

        var ex = Assert.Throws<EventFormatException>(() => EventLeafV1.Parse(Encoding.UTF8.GetBytes(bad)));
        Assert.Equal(code, ex.Code);
    }

    [Fact]
    public void Invalid_utf8_in_a_leaf_is_a_format_error()
    {
        var bytes = Encoding.UTF8.GetBytes(MinimalLeaf);
        var at = MinimalLeaf.IndexOf("usr_1", StringComparison.Ordinal);
        bytes[at] = 0xC3;
        bytes[at + 1] = 0x28;

        var ex = Assert.Throws<EventFormatException>(() => EventLeafV1.Parse(bytes));
        Assert.Equal(EventFormatException.InvalidJson, ex.Code);
    }

    [Fact]
    public void Every_truncation_and_every_bit_flip_of_a_leaf_is_either_parsed_or_a_format_error()
    {
        var leaf = Encode(Full()).Leaf;
        var refused = 0;
        for (var length = 0; length < leaf.Length; length++)
        {
            Assert.Throws<EventFormatException>(() => EventLeafV1.Parse(leaf.AsSpan(0, length)));
        }

        for (var i = 0; i < leaf.Length; i++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var copy = (byte[])leaf.Clone();
                copy[i] ^= (byte)(1 << bit);
                try
                {
                    var parsed = EventLeafV1.Parse(copy);
                    // A flip that still parses changed some value, so the canonical bytes differ from the original.
                    Assert.NotEqual(leaf, EventLeafV1.Write(parsed));
                }
                catch (EventFormatException)
                {
                    refused++;
                }
            }
        }

        Assert.True(refused > leaf.Length, $"only {refused} of {leaf.Length * 8} flips were refused");
    }

    [Fact]
    public void Every_truncation_and_every_bit_flip_of_a_payload_is_either_parsed_or_a_format_error()
    {
        var payload = Encode(Full()).Payload;
        for (var length = 0; length < payload.Length; length++)
        {
            Assert.Throws<EventFormatException>(() => EventPayloadV1.Parse(payload.AsSpan(0, length)));
        }

        for (var i = 0; i < payload.Length; i++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var copy = (byte[])payload.Clone();
                copy[i] ^= (byte)(1 << bit);
                try
                {
                    EventPayloadV1.Parse(copy);
                }
                catch (EventFormatException)
                {
                    // The only exception type allowed out.
                }
            }
        }
    }

    [Theory]
    [InlineData("""{"salt":"AAEC"}""", EventFormatException.InvalidValue)]
    [InlineData("""{"actor_name":"x"}""", EventFormatException.MissingMember)]
    [InlineData("""{"salt":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","metadata":[1]}""", EventFormatException.WrongType)]
    [InlineData("""{"salt":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","targets":[{"type":"user"}]}""", EventFormatException.UnknownMember)]
    [InlineData("""{"salt":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","metadata":{"a":"\u00e9"}}""", EventFormatException.NotCanonical)]
    [InlineData("""{"salt":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","user_agent":"x","actor_name":"y"}""", EventFormatException.NotCanonical)]
    [InlineData("""{"salt":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","metadata":{"a":"\ud800"}}""", EventFormatException.InvalidValue)]
    public void Malformed_payloads_are_refused_with_a_specific_code(string payload, string code)
    {
        var ex = Assert.Throws<EventFormatException>(() => EventPayloadV1.Parse(Encoding.UTF8.GetBytes(payload)));
        Assert.Equal(code, ex.Code);
    }

    [Fact]
    public void An_erased_style_payload_round_trips_empty_target_objects()
    {
        var payload = EventPayloadV1.Parse(
            Encoding.UTF8.GetBytes("""{"salt":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","targets":[{},{"name":"n"}]}"""));

        Assert.Equal(2, payload.Targets!.Count);
        Assert.Equal(new PayloadTarget(null, null), payload.Targets[0]);
        Assert.Equal("n", payload.Targets[1].Name);
        Assert.Equal(JsonValueKind.Undefined, payload.Metadata?.ValueKind ?? JsonValueKind.Undefined);
    }
}

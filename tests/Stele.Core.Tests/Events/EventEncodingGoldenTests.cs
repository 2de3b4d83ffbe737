using Stele.Core.Events;
using static Stele.Core.Tests.Events.EventSamples;

namespace Stele.Core.Tests.Events;

/// <summary>
/// Pins the exact v1 bytes (DESIGN.md, "Integrity, version 1"). The expected strings were written by
/// hand from the format description and their digests computed outside .NET (Python hashlib), so a
/// change in the encoder cannot silently move the expected values with it.
/// </summary>
public sealed class EventEncodingGoldenTests
{
    private const string SaltB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    [Fact]
    public void A_minimal_event_encodes_to_the_pinned_bytes()
    {
        var encoded = Encode(Minimal());

        Assert.Equal($$$"""{"salt":"{{{SaltB64}}}"}""", Utf8(encoded.Payload));
        Assert.Equal(
            """{"v":1,"ledger":"default","seq":0,"id":"evt_01JDQ4Z8K9M2N3P4Q5R6S7T8V9","received_at":"2026-11-22T03:16:34.000001Z","occurred_at":"2026-11-22T03:16:33.123456Z","actor_id":"usr_1","action":"document.deleted","outcome":"success","payload_digest":"843a9cbda6a5e5a77b1770fc9b6a6b7fa08a1350c7b904f6e3af9dd34aa590fe"}""",
            Utf8(encoded.Leaf));
    }

    [Fact]
    public void The_minimal_event_has_the_pinned_payload_digest_and_leaf_hash()
    {
        var encoded = Encode(Minimal());

        Assert.Equal("843a9cbda6a5e5a77b1770fc9b6a6b7fa08a1350c7b904f6e3af9dd34aa590fe", Convert.ToHexStringLower(encoded.PayloadDigest));
        Assert.Equal("d2605b82c135e84ea5feb2323695a59ee313cd887aac9bfc0f7dfb02de076228", Convert.ToHexStringLower(encoded.LeafHash));
    }

    [Fact]
    public void An_event_with_every_field_encodes_to_the_pinned_bytes()
    {
        var e = new EventRecord
        {
            ActorId = "usr_1",
            ActorName = "Alice Example",
            ActorType = "user",
            Action = "document.shared",
            ActionCategory = "sharing",
            Resource = "document",
            ResourceId = "doc_42",
            ResourceName = "Q3 plan",
            Targets = [new EventTarget { Type = "user", Id = "usr_2", Name = "Bob", Metadata = Json("""{"role":"editor"}""") }],
            Metadata = Json("""{ "changes": { "visibility": ["private", "team"] } }"""),
            // A non-UTC offset: the leaf must hold the same instant in UTC.
            OccurredAt = new DateTimeOffset(2026, 11, 22, 5, 16, 33, 500, TimeSpan.FromHours(2)),
            TenantId = "acme",
            SessionId = "ses_9",
            IpAddress = "203.0.113.7",
            IpCountry = "FR",
            IpCity = "Paris",
            UserAgent = "Mozilla/5.0 (X11; Linux x86_64)",
            Outcome = EventOutcome.Failure,
            Version = 3,
        };

        var encoded = Encode(e, "acme-prod", 41);

        Assert.Equal(
            $$$"""{"salt":"{{{SaltB64}}}","actor_name":"Alice Example","resource_name":"Q3 plan","ip_address":"203.0.113.7","ip_city":"Paris","user_agent":"Mozilla/5.0 (X11; Linux x86_64)","metadata":{"changes":{"visibility":["private","team"]}},"targets":[{"name":"Bob","metadata":{"role":"editor"}}]}""",
            Utf8(encoded.Payload));
        Assert.Equal(
            """{"v":1,"ledger":"acme-prod","seq":41,"id":"evt_01JDQ4Z8K9M2N3P4Q5R6S7T8V9","received_at":"2026-11-22T03:16:34.000001Z","occurred_at":"2026-11-22T03:16:33.500000Z","actor_id":"usr_1","actor_type":"user","action":"document.shared","action_category":"sharing","resource":"document","resource_id":"doc_42","targets":[{"type":"user","id":"usr_2"}],"tenant_id":"acme","session_id":"ses_9","ip_country":"FR","outcome":"failure","version":3,"payload_digest":"6cb7ca01c890ea1f301adb974fe046a1ae1f00a223faf47661e021fe8e556c68"}""",
            Utf8(encoded.Leaf));
    }

    [Fact]
    public void Non_ascii_text_is_written_as_raw_utf8()
    {
        var e = Minimal() with
        {
            Action = "document.renamed",
            ActorName = "José 日本 🙂",
            ResourceId = "ドキュメント-1",
            ResourceName = "Ünïcödé",
            TenantId = "société",
            Metadata = Json("""{"note":"caf\u00e9 \u2615","日本":"語"}"""),
        };

        var encoded = Encode(e, seq: 1);

        Assert.Equal(
            $$$"""{"salt":"{{{SaltB64}}}","actor_name":"José 日本 🙂","resource_name":"Ünïcödé","metadata":{"note":"café ☕","日本":"語"}}""",
            Utf8(encoded.Payload));
        Assert.Equal(
            """{"v":1,"ledger":"default","seq":1,"id":"evt_01JDQ4Z8K9M2N3P4Q5R6S7T8V9","received_at":"2026-11-22T03:16:34.000001Z","occurred_at":"2026-11-22T03:16:33.123456Z","actor_id":"usr_1","action":"document.renamed","resource_id":"ドキュメント-1","tenant_id":"société","outcome":"success","payload_digest":"dc2b9def7ea7f8a7ea587bc4e559dda1622a3d0658a382c860c90f92e5fdbbd0"}""",
            Utf8(encoded.Leaf));
        // The emoji is one 4-byte UTF-8 sequence, not a \u escape pair.
        Assert.True(encoded.Payload.AsSpan().IndexOf((ReadOnlySpan<byte>)[0xF0, 0x9F, 0x99, 0x82]) >= 0);
    }

    [Fact]
    public void Empty_strings_are_written_and_absent_fields_are_omitted()
    {
        var e = Minimal() with
        {
            ActorName = "",
            ActorType = "",
            ActionCategory = "",
            Resource = "",
            ResourceId = "",
            ResourceName = "",
            TenantId = "",
            SessionId = "",
            IpAddress = "",
            IpCountry = "",
            IpCity = "",
            UserAgent = "",
            Metadata = Json("{}"),
        };

        var encoded = Encode(e);

        Assert.Equal(
            $$$"""{"salt":"{{{SaltB64}}}","actor_name":"","resource_name":"","ip_address":"","ip_city":"","user_agent":"","metadata":{}}""",
            Utf8(encoded.Payload));
        Assert.Equal(
            """{"v":1,"ledger":"default","seq":0,"id":"evt_01JDQ4Z8K9M2N3P4Q5R6S7T8V9","received_at":"2026-11-22T03:16:34.000001Z","occurred_at":"2026-11-22T03:16:33.123456Z","actor_id":"usr_1","actor_type":"","action":"document.deleted","action_category":"","resource":"","resource_id":"","tenant_id":"","session_id":"","ip_country":"","outcome":"success","payload_digest":"3ab8cbd700c313ceac5e3cab1d2bdab23e55b295c1784ce5b7fa9674e17bc2e7"}""",
            Utf8(encoded.Leaf));
    }

    [Fact]
    public void Nested_metadata_keeps_member_order_and_number_text_and_drops_only_needless_escapes()
    {
        var e = Minimal() with
        {
            Metadata = Json("""
                {
                  "a": [1, 2.50, -3e2, true, false, null, {"b": {}}],
                  "z": 0,
                  "big": 12345678901234567890,
                  "empty": [],
                  "s": "\u00e9\u003c>&'+"
                }
                """),
        };

        var encoded = Encode(e);

        Assert.Equal(
            $$$"""{"salt":"{{{SaltB64}}}","metadata":{"a":[1,2.50,-3e2,true,false,null,{"b":{}}],"z":0,"big":12345678901234567890,"empty":[],"s":"é<>&'+"}}""",
            Utf8(encoded.Payload));
        Assert.Equal("96f295b5086016bdf133d90ca052b63a87af4ad75e1d8ec9964f444de0f319c0", Convert.ToHexStringLower(encoded.PayloadDigest));
    }

    [Fact]
    public void Many_targets_split_type_and_id_into_the_leaf_and_names_into_an_aligned_payload_array()
    {
        var e = Minimal() with
        {
            Targets =
            [
                new EventTarget { Type = "user", Id = "u1", Name = "Ann" },
                new EventTarget { Type = "group" },
                new EventTarget { Type = "file", Id = "f1", Metadata = Json("""{"size":10}""") },
                new EventTarget { Type = "org", Id = "o1" },
            ],
        };

        var encoded = Encode(e);

        Assert.Equal(
            $$$"""{"salt":"{{{SaltB64}}}","targets":[{"name":"Ann"},{},{"metadata":{"size":10}},{}]}""",
            Utf8(encoded.Payload));
        Assert.Equal(
            """{"v":1,"ledger":"default","seq":0,"id":"evt_01JDQ4Z8K9M2N3P4Q5R6S7T8V9","received_at":"2026-11-22T03:16:34.000001Z","occurred_at":"2026-11-22T03:16:33.123456Z","actor_id":"usr_1","action":"document.deleted","targets":[{"type":"user","id":"u1"},{"type":"group"},{"type":"file","id":"f1"},{"type":"org","id":"o1"}],"outcome":"success","payload_digest":"2da4e95822b4d711a26b94167a96003e8ba45c656aa7a444efbb027ba70c8d94"}""",
            Utf8(encoded.Leaf));
    }

    [Fact]
    public void Targets_without_names_or_metadata_leave_no_targets_in_the_payload()
    {
        var e = Minimal() with { Targets = [new EventTarget { Type = "user", Id = "u1" }, new EventTarget { Type = "group" }] };

        var encoded = Encode(e);

        Assert.Equal($$$"""{"salt":"{{{SaltB64}}}"}""", Utf8(encoded.Payload));
        Assert.Contains("""
            "targets":[{"type":"user","id":"u1"},{"type":"group"}],"outcome"
            """, Utf8(encoded.Leaf), StringComparison.Ordinal);
    }

    [Fact]
    public void Quotes_backslashes_and_control_characters_use_the_pinned_escapes_and_nothing_else_is_escaped()
    {
        var e = Minimal() with
        {
            Action = "x<y>&z'+",
            ResourceId = "tab\there",
            ActorName = "a\"b\\c\n\r\t\b\f\u0001\u001f\u007f</script>&'+",
            Metadata = Json("""{"k\"ey":"line1\nline2","\u0000":"\u001b[0m"}"""),
        };

        var encoded = Encode(e);

        var expectedPayload =
            $$$"""{"salt":"{{{SaltB64}}}","actor_name":"a\"b\\c\n\r\t\b\f\u0001\u001f"""
            + "\u007f"
            + """</script>&'+","metadata":{"k\"ey":"line1\nline2","\u0000":"\u001b[0m"}}""";
        Assert.Equal(expectedPayload, Utf8(encoded.Payload));
        Assert.Equal("4e5fe7f2314924531ebc87c0c3eca907741a11a95cb21b34796584aebe96a771", Convert.ToHexStringLower(encoded.PayloadDigest));
        Assert.Contains("""
            "action":"x<y>&z'+","resource_id":"tab\there","outcome"
            """, Utf8(encoded.Leaf), StringComparison.Ordinal);
    }

    [Fact]
    public void Times_are_truncated_to_microseconds_not_rounded()
    {
        var e = Minimal() with { OccurredAt = new DateTimeOffset(2026, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(9_999_999) };

        var leaf = Utf8(Encode(e).Leaf);

        Assert.Contains("\"occurred_at\":\"2026-12-31T23:59:59.999999Z\"", leaf, StringComparison.Ordinal);
    }

    [Fact]
    public void Encoding_is_deterministic()
    {
        var a = Encode(Minimal() with { ActorName = "José", Metadata = Json("""{"x":[1,{"y":null}]}""") });
        var b = Encode(Minimal() with { ActorName = "José", Metadata = Json("""{ "x" : [ 1 , { "y" : null } ] }""") });

        Assert.Equal(a.Leaf, b.Leaf);
        Assert.Equal(a.Payload, b.Payload);
    }
}

using System.Text.Json;
using Stele.Core.Events;

namespace Stele.Core.Tests.Events;

/// <summary>Fixed inputs shared by the event format tests.</summary>
internal static class EventSamples
{
    public const string Id = "evt_01JDQ4Z8K9M2N3P4Q5R6S7T8V9";

    /// <summary>Bytes 0..31; base64 <c>AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=</c>.</summary>
    public static byte[] Salt { get; } = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    /// <summary>2026-11-22T03:16:33.1234567Z: one tick below a microsecond boundary, so truncation shows.</summary>
    public static DateTimeOffset OccurredAt { get; } = new DateTimeOffset(2026, 11, 22, 3, 16, 33, TimeSpan.Zero).AddTicks(1_234_567);

    /// <summary>2026-11-22T03:16:34.000001Z.</summary>
    public static DateTimeOffset ReceivedAt { get; } = new DateTimeOffset(2026, 11, 22, 3, 16, 34, TimeSpan.Zero).AddTicks(10);

    public static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    public static EventRecord Minimal() => new()
    {
        ActorId = "usr_1",
        Action = "document.deleted",
        OccurredAt = OccurredAt,
    };

    /// <summary>
    /// Records that cover the leaf's shapes: "minimal", "full" (every optional leaf field), "targets",
    /// "non-ascii" (raw UTF-8, nothing escaped) and "unicode" (strings the leaf must escape).
    /// </summary>
    public static EventRecord Named(string name) => name switch
    {
        "minimal" => Minimal(),
        "full" => Minimal() with
        {
            ActorType = "user",
            ActionCategory = "",
            Resource = "document",
            ResourceId = "doc_42",
            TenantId = "acme",
            SessionId = "ses_9",
            IpCountry = "JP",
            Outcome = EventOutcome.Failure,
            Version = -7,
        },
        "targets" => Minimal() with { Targets = [new EventTarget { Type = "user", Id = "usr_2" }, new EventTarget { Type = "group" }] },
        "non-ascii" => Minimal() with { ActorId = "José 日本 🙂 \u007f", Resource = "ü" },
        "unicode" => Minimal() with { ActorId = "José \"J\" 日本 🙂\n\\\u0001", Resource = "tab\there" },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    public static EncodedEvent Encode(EventRecord e, string ledger = "default", long seq = 0) =>
        EventEncoderV1.Encode(e, ledger, seq, Id, ReceivedAt, Salt);

    public static string Utf8(byte[] bytes) => System.Text.Encoding.UTF8.GetString(bytes);
}

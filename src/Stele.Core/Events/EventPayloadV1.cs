using System.Text.Json;

namespace Stele.Core.Events;

/// <summary>
/// The v1 payload: the erasable part of an event as a compact UTF-8 JSON object with members in
/// this order, absent ones omitted (DESIGN.md, "Integrity, version 1", principle 4):
/// <c>salt, actor_name, resource_name, ip_address, ip_city, user_agent, metadata, targets</c>.
/// <c>targets</c> is present only if some target has a name or metadata; it is then aligned
/// index-for-index with the leaf's targets, each element <c>{"name":…,"metadata":…}</c> or <c>{}</c>.
/// The leaf commits to <c>SHA-256(payload)</c>; the 32-byte salt keeps that digest from revealing
/// an erased payload by guessing.
/// </summary>
public static class EventPayloadV1
{
    /// <summary>Length of the salt in bytes.</summary>
    public const int SaltSize = 32;

    private static readonly HashSet<string> Members =
        ["salt", "actor_name", "resource_name", "ip_address", "ip_city", "user_agent", "metadata", "targets"];

    private static readonly HashSet<string> TargetMembers = ["name", "metadata"];

    /// <summary>Parses payload bytes strictly: they must be exactly the canonical v1 encoding of their content.</summary>
    /// <exception cref="EventFormatException">The bytes are not a v1 payload; the code says why.</exception>
    public static DecodedPayload Parse(ReadOnlySpan<byte> payload)
    {
        var bytes = payload.ToArray();
        return StrictJson.Decode(bytes, "payload", root =>
        {
            var decoded = Read(root);
            if (!IsCanonicalEncoding(decoded, bytes))
            {
                throw new EventFormatException(
                    EventFormatException.NotCanonical,
                    "The payload is not in canonical v1 form (member order, spacing or escaping).");
            }

            return decoded;
        });
    }

    /// <summary>Writes the canonical v1 payload bytes.</summary>
    /// <exception cref="ArgumentException">A value cannot be encoded (bad salt, non-object metadata, lone surrogate).</exception>
    internal static byte[] Write(DecodedPayload payload) => CanonicalJsonWriter.Encode(payload, WriteTo);

    /// <summary>True when <paramref name="bytes"/> are exactly the canonical payload bytes of <paramref name="payload"/>.</summary>
    private static bool IsCanonicalEncoding(DecodedPayload payload, ReadOnlySpan<byte> bytes) => CanonicalJsonWriter.Encodes(payload, WriteTo, bytes);

    private static void WriteTo(CanonicalJsonWriter w, DecodedPayload payload)
    {
        if (payload.Salt.Length != SaltSize)
        {
            throw new ArgumentException($"The payload salt must be {SaltSize} bytes, got {payload.Salt.Length}.", nameof(payload));
        }

        w.StartObject();
        w.Property("salt", Convert.ToBase64String(payload.Salt));
        w.OptionalProperty("actor_name", payload.ActorName);
        w.OptionalProperty("resource_name", payload.ResourceName);
        w.OptionalProperty("ip_address", payload.IpAddress);
        w.OptionalProperty("ip_city", payload.IpCity);
        w.OptionalProperty("user_agent", payload.UserAgent);
        WriteMetadata(w, payload.Metadata, "metadata");
        if (payload.Targets is { } targets)
        {
            w.Name("targets");
            w.StartArray();
            for (var i = 0; i < targets.Count; i++)
            {
                w.StartObject();
                w.OptionalProperty("name", targets[i].Name);
                WriteMetadata(w, targets[i].Metadata, $"targets[{i}].metadata");
                w.EndObject();
            }

            w.EndArray();
        }

        w.EndObject();
    }

    private static void WriteMetadata(CanonicalJsonWriter w, JsonElement? metadata, string what)
    {
        if (metadata is not { } value)
        {
            return;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"{what} must be a JSON object, not {value.ValueKind}.");
        }

        w.Name("metadata");
        w.Element(value, 1);
    }

    private static DecodedPayload Read(JsonElement root)
    {
        var o = new StrictJsonObject(root, "payload", Members);
        var saltText = o.RequiredString("salt");
        var salt = new byte[SaltSize];
        if (!Convert.TryFromBase64String(saltText, salt, out var saltLength) || saltLength != SaltSize)
        {
            throw new EventFormatException(
                EventFormatException.InvalidValue, $"The payload salt is not the base64 of {SaltSize} bytes.");
        }

        IReadOnlyList<PayloadTarget>? targets = null;
        if (o.Optional("targets", JsonValueKind.Array) is { } array)
        {
            var list = new PayloadTarget[array.GetArrayLength()];
            var i = 0;
            foreach (var element in array.EnumerateArray())
            {
                var t = new StrictJsonObject(element, $"payload target {i}", TargetMembers);
                list[i++] = new PayloadTarget(t.OptionalString("name"), t.Optional("metadata", JsonValueKind.Object)?.Clone());
            }

            targets = list;
        }

        return new DecodedPayload
        {
            Salt = salt,
            ActorName = o.OptionalString("actor_name"),
            ResourceName = o.OptionalString("resource_name"),
            IpAddress = o.OptionalString("ip_address"),
            IpCity = o.OptionalString("ip_city"),
            UserAgent = o.OptionalString("user_agent"),
            Metadata = o.Optional("metadata", JsonValueKind.Object)?.Clone(),
            Targets = targets,
        };
    }
}

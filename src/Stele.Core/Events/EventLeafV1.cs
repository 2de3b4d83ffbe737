using System.Text.Json;

namespace Stele.Core.Events;

/// <summary>
/// The v1 leaf: a compact UTF-8 JSON object with members in this fixed order, absent optional
/// members omitted (DESIGN.md, "Integrity, version 1"):
/// <c>v, ledger, seq, id, received_at, occurred_at, actor_id, actor_type, action, action_category,
/// resource, resource_id, targets[{type,id}], tenant_id, session_id, ip_country, outcome, version,
/// payload_digest</c>. The leaf is what the Merkle tree and the hash chain commit to.
/// </summary>
public static class EventLeafV1
{
    /// <summary>The value of <c>v</c> this format writes and reads.</summary>
    public const int FormatVersion = 1;

    private static readonly HashSet<string> Members =
    [
        "v", "ledger", "seq", "id", "received_at", "occurred_at", "actor_id", "actor_type", "action",
        "action_category", "resource", "resource_id", "targets", "tenant_id", "session_id", "ip_country",
        "outcome", "version", "payload_digest",
    ];

    private static readonly HashSet<string> TargetMembers = ["type", "id"];

    /// <summary>
    /// Parses leaf bytes strictly: they must be exactly the canonical v1 encoding of their content.
    /// </summary>
    /// <exception cref="EventFormatException">The bytes are not a v1 leaf; the code says why.</exception>
    public static DecodedLeaf Parse(ReadOnlySpan<byte> leaf) => CanonicalLeafReader.TryRead(leaf) ?? ParseStrict(leaf);

    /// <summary>The general parser: a document with every member checked, then the canonical-form check. It names what is wrong.</summary>
    internal static DecodedLeaf ParseStrict(ReadOnlySpan<byte> leaf)
    {
        var bytes = leaf.ToArray();
        return StrictJson.Decode(bytes, "leaf", root =>
        {
            var decoded = Read(root);
            if (!bytes.AsSpan().SequenceEqual(Write(decoded)))
            {
                throw new EventFormatException(
                    EventFormatException.NotCanonical,
                    $"The leaf of event {decoded.Id} is not in canonical v1 form (member order, spacing or escaping).");
            }

            return decoded;
        });
    }

    /// <summary>The member names in the order <see cref="Write"/> writes them.</summary>
    internal static class Names
    {
        public static ReadOnlySpan<byte> V => "v"u8;
        public static ReadOnlySpan<byte> Ledger => "ledger"u8;
        public static ReadOnlySpan<byte> Seq => "seq"u8;
        public static ReadOnlySpan<byte> Id => "id"u8;
        public static ReadOnlySpan<byte> ReceivedAt => "received_at"u8;
        public static ReadOnlySpan<byte> OccurredAt => "occurred_at"u8;
        public static ReadOnlySpan<byte> ActorId => "actor_id"u8;
        public static ReadOnlySpan<byte> ActorType => "actor_type"u8;
        public static ReadOnlySpan<byte> Action => "action"u8;
        public static ReadOnlySpan<byte> ActionCategory => "action_category"u8;
        public static ReadOnlySpan<byte> Resource => "resource"u8;
        public static ReadOnlySpan<byte> ResourceId => "resource_id"u8;
        public static ReadOnlySpan<byte> Targets => "targets"u8;
        public static ReadOnlySpan<byte> Type => "type"u8;
        public static ReadOnlySpan<byte> TenantId => "tenant_id"u8;
        public static ReadOnlySpan<byte> SessionId => "session_id"u8;
        public static ReadOnlySpan<byte> IpCountry => "ip_country"u8;
        public static ReadOnlySpan<byte> Outcome => "outcome"u8;
        public static ReadOnlySpan<byte> Version => "version"u8;
        public static ReadOnlySpan<byte> PayloadDigest => "payload_digest"u8;
    }

    /// <summary>Writes the canonical v1 leaf bytes for <paramref name="leaf"/>.</summary>
    internal static byte[] Write(DecodedLeaf leaf) => CanonicalJsonWriter.Encode(leaf, WriteTo);

    /// <summary>True when <paramref name="bytes"/> are exactly the canonical v1 leaf bytes of <paramref name="leaf"/>.</summary>
    internal static bool IsCanonicalEncoding(DecodedLeaf leaf, ReadOnlySpan<byte> bytes) => CanonicalJsonWriter.Encodes(leaf, WriteTo, bytes);

    private static void WriteTo(CanonicalJsonWriter w, DecodedLeaf leaf)
    {
        w.StartObject();
        w.Name("v");
        w.Number(FormatVersion);
        w.Property("ledger", leaf.Ledger);
        w.Name("seq");
        w.Number(leaf.Seq);
        w.Property("id", leaf.Id);
        w.Property("received_at", EventTime.ToText(leaf.ReceivedAt));
        w.Property("occurred_at", EventTime.ToText(leaf.OccurredAt));
        w.Property("actor_id", leaf.ActorId);
        w.OptionalProperty("actor_type", leaf.ActorType);
        w.Property("action", leaf.Action);
        w.OptionalProperty("action_category", leaf.ActionCategory);
        w.OptionalProperty("resource", leaf.Resource);
        w.OptionalProperty("resource_id", leaf.ResourceId);
        if (leaf.Targets.Count > 0)
        {
            w.Name("targets");
            w.StartArray();
            foreach (var target in leaf.Targets)
            {
                w.StartObject();
                w.Property("type", target.Type);
                w.OptionalProperty("id", target.Id);
                w.EndObject();
            }

            w.EndArray();
        }

        w.OptionalProperty("tenant_id", leaf.TenantId);
        w.OptionalProperty("session_id", leaf.SessionId);
        w.OptionalProperty("ip_country", leaf.IpCountry);
        w.Property("outcome", leaf.Outcome.ToWireName());
        if (leaf.Version is { } version)
        {
            w.Name("version");
            w.Number(version);
        }

        w.Property("payload_digest", Convert.ToHexStringLower(leaf.PayloadDigest));
        w.EndObject();
    }

    private static DecodedLeaf Read(JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Object
            && root.TryGetProperty("v", out var v)
            && !(v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var version) && version == FormatVersion))
        {
            throw new EventFormatException(
                EventFormatException.UnsupportedVersion, $"The leaf has \"v\":{v.GetRawText()}; only {FormatVersion} is supported.");
        }

        var o = new StrictJsonObject(root, "leaf", Members);
        o.RequiredInt64("v");
        var seq = o.RequiredInt64("seq");
        if (seq < 0)
        {
            throw new EventFormatException(EventFormatException.InvalidValue, $"The leaf has a negative seq {seq}.");
        }

        var outcomeText = o.RequiredString("outcome");
        if (!EventOutcomeNames.TryParse(outcomeText, out var outcome))
        {
            throw new EventFormatException(
                EventFormatException.InvalidValue, $"The leaf has outcome \"{outcomeText}\"; expected success or failure.");
        }

        var digestHex = o.RequiredString("payload_digest");
        if (digestHex.Length != 64 || !IsLowerHex(digestHex))
        {
            throw new EventFormatException(
                EventFormatException.InvalidValue, "The leaf's payload_digest is not 64 lowercase hex digits.");
        }

        return new DecodedLeaf
        {
            Ledger = o.RequiredString("ledger"),
            Seq = seq,
            Id = o.RequiredString("id"),
            ReceivedAt = o.RequiredTime("received_at"),
            OccurredAt = o.RequiredTime("occurred_at"),
            ActorId = o.RequiredString("actor_id"),
            ActorType = o.OptionalString("actor_type"),
            Action = o.RequiredString("action"),
            ActionCategory = o.OptionalString("action_category"),
            Resource = o.OptionalString("resource"),
            ResourceId = o.OptionalString("resource_id"),
            Targets = ReadTargets(o.Optional("targets", JsonValueKind.Array)),
            TenantId = o.OptionalString("tenant_id"),
            SessionId = o.OptionalString("session_id"),
            IpCountry = o.OptionalString("ip_country"),
            Outcome = outcome,
            Version = o.OptionalInt32("version"),
            PayloadDigest = Convert.FromHexString(digestHex),
        };
    }

    private static LeafTarget[] ReadTargets(JsonElement? array)
    {
        if (array is not { } targets)
        {
            return [];
        }

        var result = new LeafTarget[targets.GetArrayLength()];
        var i = 0;
        foreach (var element in targets.EnumerateArray())
        {
            var t = new StrictJsonObject(element, $"leaf target {i}", TargetMembers);
            result[i++] = new LeafTarget(t.RequiredString("type"), t.OptionalString("id"));
        }

        return result;
    }

    private static bool IsLowerHex(string text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return true;
    }
}

using System.Text.Json;

namespace Stele.Core.Events;

/// <summary>
/// The fast path of <see cref="EventLeafV1.Parse"/>: one forward pass with <see cref="Utf8JsonReader"/>
/// over a leaf that is expected to be canonical (members in the fixed order, nothing else), then the
/// same check the strict path makes: the decoded leaf, written again, must be exactly the given bytes.
/// Because of that check a leaf it accepts is decoded correctly whatever the reader did; anything
/// unexpected returns null and the strict path parses the leaf and names the problem.
/// </summary>
internal static class CanonicalLeafReader
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 4 };

    public static DecodedLeaf? TryRead(ReadOnlySpan<byte> leaf)
    {
        try
        {
            var decoded = Read(leaf);
            return decoded is not null && EventLeafV1.IsCanonicalEncoding(decoded, leaf) ? decoded : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    private static DecodedLeaf? Read(ReadOnlySpan<byte> leaf)
    {
        var r = new Utf8JsonReader(leaf, Options);
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject || !r.Read())
        {
            return null;
        }

        if (!Number(ref r, EventLeafV1.Names.V, out var v) || v != EventLeafV1.FormatVersion)
        {
            return null;
        }

        var ledger = Text(ref r, EventLeafV1.Names.Ledger);
        if (ledger is null || !Number(ref r, EventLeafV1.Names.Seq, out var seq) || seq < 0)
        {
            return null;
        }

        var id = Text(ref r, EventLeafV1.Names.Id);
        var receivedAt = Text(ref r, EventLeafV1.Names.ReceivedAt);
        var occurredAt = Text(ref r, EventLeafV1.Names.OccurredAt);
        var actorId = Text(ref r, EventLeafV1.Names.ActorId);
        var actorType = Text(ref r, EventLeafV1.Names.ActorType);
        var action = Text(ref r, EventLeafV1.Names.Action);
        var actionCategory = Text(ref r, EventLeafV1.Names.ActionCategory);
        var resource = Text(ref r, EventLeafV1.Names.Resource);
        var resourceId = Text(ref r, EventLeafV1.Names.ResourceId);
        if (id is null || receivedAt is null || occurredAt is null || actorId is null || action is null)
        {
            return null;
        }

        var targets = Targets(ref r);
        if (targets is null)
        {
            return null;
        }

        var tenantId = Text(ref r, EventLeafV1.Names.TenantId);
        var sessionId = Text(ref r, EventLeafV1.Names.SessionId);
        var ipCountry = Text(ref r, EventLeafV1.Names.IpCountry);
        var outcomeText = Text(ref r, EventLeafV1.Names.Outcome);
        int? version = null;
        if (At(ref r, EventLeafV1.Names.Version))
        {
            if (!Number(ref r, EventLeafV1.Names.Version, out var number) || number is < int.MinValue or > int.MaxValue)
            {
                return null;
            }

            version = (int)number;
        }

        var digest = Text(ref r, EventLeafV1.Names.PayloadDigest);
        if (r.TokenType != JsonTokenType.EndObject || r.Read()
            || !EventOutcomeNames.TryParse(outcomeText, out var outcome)
            || digest is not { Length: 64 }
            || !EventTime.TryParse(receivedAt, out var received) || !EventTime.TryParse(occurredAt, out var occurred))
        {
            return null;
        }

        return new DecodedLeaf
        {
            Ledger = ledger,
            Seq = seq,
            Id = id,
            ReceivedAt = received,
            OccurredAt = occurred,
            ActorId = actorId,
            ActorType = actorType,
            Action = action,
            ActionCategory = actionCategory,
            Resource = resource,
            ResourceId = resourceId,
            Targets = targets,
            TenantId = tenantId,
            SessionId = sessionId,
            IpCountry = ipCountry,
            Outcome = outcome,
            Version = version,
            PayloadDigest = Convert.FromHexString(digest),
        };
    }

    /// <summary>True when the reader stands on the member <paramref name="name"/>.</summary>
    private static bool At(ref Utf8JsonReader r, ReadOnlySpan<byte> name) =>
        r.TokenType == JsonTokenType.PropertyName && r.ValueTextEquals(name);

    /// <summary>The string member <paramref name="name"/> if the reader stands on it (then moves past it); null otherwise.</summary>
    private static string? Text(ref Utf8JsonReader r, ReadOnlySpan<byte> name)
    {
        if (!At(ref r, name))
        {
            return null;
        }

        if (!r.Read() || r.TokenType != JsonTokenType.String)
        {
            throw new JsonException("not a string");
        }

        var value = r.GetString();
        r.Read();
        return value;
    }

    private static bool Number(ref Utf8JsonReader r, ReadOnlySpan<byte> name, out long value)
    {
        value = 0;
        if (!At(ref r, name) || !r.Read() || r.TokenType != JsonTokenType.Number || !r.TryGetInt64(out value))
        {
            return false;
        }

        r.Read();
        return true;
    }

    /// <summary>The targets array if present (empty if absent); null when it is not an array of {type, id?}.</summary>
    private static LeafTarget[]? Targets(ref Utf8JsonReader r)
    {
        if (!At(ref r, EventLeafV1.Names.Targets))
        {
            return [];
        }

        if (!r.Read() || r.TokenType != JsonTokenType.StartArray)
        {
            return null;
        }

        var targets = new List<LeafTarget>();
        while (r.Read() && r.TokenType == JsonTokenType.StartObject)
        {
            r.Read();
            var type = Text(ref r, EventLeafV1.Names.Type);
            var id = Text(ref r, EventLeafV1.Names.Id);
            if (type is null || r.TokenType != JsonTokenType.EndObject)
            {
                return null;
            }

            targets.Add(new LeafTarget(type, id));
        }

        if (r.TokenType != JsonTokenType.EndArray)
        {
            return null;
        }

        r.Read();
        return [.. targets];
    }
}

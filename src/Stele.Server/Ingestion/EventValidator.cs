using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Stele.Core.Events;
using Stele.Server.Api;
using Stele.Server.Auth;
using Stele.Server.Enrichment;
using Stele.Server.Indexing;

namespace Stele.Server.Ingestion;

/// <summary>
/// Turns one JSON event body into an <see cref="EventRecord"/>, or into a list of field errors.
/// Strict: unknown fields, wrong types, control characters in identifiers, lone surrogates and
/// values over the limits are all rejected, so nothing malformed ever reaches the ledger.
/// The server-added <c>ip_country</c> and <c>ip_city</c> are filled here, by GeoIP, before the
/// record is encoded; a body that sends them is rejected like any unknown field.
/// </summary>
internal sealed partial class EventValidator(TimeProvider clock, TimeSpan maxClockSkew, GeoIpEnricher geoIp)
{
    /// <summary>Body fields that describe the end user's connection: only a <c>client_origin</c> key may set them.</summary>
    private static readonly string[] ClientOriginFields = ["ip_address", "user_agent"];

    private static readonly HashSet<string> KnownFields = new(StringComparer.Ordinal)
    {
        "actor_id", "actor_name", "actor_type", "action", "action_category", "resource", "resource_id",
        "resource_name", "targets", "metadata", "occurred_at", "tenant_id", "session_id", "ip_address",
        "user_agent", "outcome", "idempotency_key", "version",
    };

    private static readonly HashSet<string> KnownTargetFields = new(StringComparer.Ordinal) { "type", "id", "name", "metadata" };

    // The longest known field name; a longer name is never looked up without allocating.
    private const int MaxKnownNameLength = 32;

    /// <summary>
    /// Validates one event; <paramref name="prefix"/> names it in errors (e.g. <c>events[3].</c>).
    /// Returns null with <paramref name="problem"/> set when it is refused: <c>403 forbidden</c>
    /// when it sets <c>ip_address</c> or <c>user_agent</c> and the key may not, otherwise
    /// <c>400 validation_failed</c> listing every bad field.
    /// </summary>
    public ParsedEvent? Validate(JsonElement body, string prefix, RequestOrigin origin, out ApiException? problem)
    {
        if (body.ValueKind == JsonValueKind.Object && !origin.MayPassClientOrigin && ClientOriginField(body) is { } field)
        {
            problem = ApiException.Forbidden(
                $"This API key lacks the '{Permission.ClientOrigin}' permission, so an event may not set '{field}'; leave it out to record the request's own.",
                [new(prefix + field, $"may be set only by a key with the '{Permission.ClientOrigin}' permission")]);
            return null;
        }

        var errors = new List<FieldError>();
        var parsed = Validate(body, prefix, origin, errors);
        problem = parsed is null ? ApiException.Validation("The event is not valid.", errors) : null;
        return parsed;
    }

    /// <summary>The first client-origin field the body sets to something other than null.</summary>
    private static string? ClientOriginField(JsonElement body)
    {
        foreach (var property in body.EnumerateObject())
        {
            foreach (var name in ClientOriginFields)
            {
                // NameEquals compares the unescaped name without making a string of it.
                if (property.NameEquals(name) && property.Value.ValueKind != JsonValueKind.Null)
                {
                    return name;
                }
            }
        }

        return null;
    }

    private ParsedEvent? Validate(JsonElement body, string prefix, RequestOrigin origin, List<FieldError> errors)
    {
        var before = errors.Count;
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new(prefix.TrimEnd('.') is { Length: > 0 } p ? p : "body", "must be a JSON object"));
            return null;
        }

        // The raw text is the event's bytes as sent (the body was checked to be UTF-8).
        if (JsonMarshal.GetRawUtf8Value(body).Length > IngestLimits.MaxEventBytes)
        {
            errors.Add(new(prefix.TrimEnd('.') is { Length: > 0 } p ? p : "body", $"an event may be at most {IngestLimits.MaxEventBytes} bytes"));
            return null;
        }

        if (!CheckFieldNames(body, KnownFields, prefix, errors))
        {
            // Looking a field up by name unescapes the names it passes, and a lone surrogate escape throws there.
            return null;
        }

        var actorId = Identifier(body, "actor_id", prefix, errors, required: true);
        var actorName = Text(body, "actor_name", prefix, errors, IngestLimits.MaxTextLength);
        var actorType = Identifier(body, "actor_type", prefix, errors);
        var action = Identifier(body, "action", prefix, errors, required: true);
        if (action is not null && !ActionPattern().IsMatch(action))
        {
            errors.Add(new(prefix + "action", "must look like 'resource.verb': letters, digits, '_', '-' and ':' in dot-separated parts"));
        }

        var actionCategory = Identifier(body, "action_category", prefix, errors);
        var resource = Identifier(body, "resource", prefix, errors);
        var resourceId = Identifier(body, "resource_id", prefix, errors);
        var resourceName = Text(body, "resource_name", prefix, errors, IngestLimits.MaxTextLength);
        var tenantId = Identifier(body, "tenant_id", prefix, errors);
        var sessionId = Identifier(body, "session_id", prefix, errors);
        var idempotencyKey = Identifier(body, "idempotency_key", prefix, errors);
        var userAgent = Text(body, "user_agent", prefix, errors, IngestLimits.MaxUserAgentLength) ?? origin.UserAgent;
        var ipAddress = IpAddress(body, prefix, errors) ?? origin.Address;
        var outcome = Outcome(body, prefix, errors);
        var version = Version(body, prefix, errors);
        var occurredAt = OccurredAt(body, prefix, errors);
        var metadata = Metadata(body, "metadata", prefix, errors);
        var targets = Targets(body, prefix, errors);

        if (errors.Count > before)
        {
            return null;
        }

        var location = geoIp.Locate(ipAddress);
        var record = new EventRecord
        {
            ActorId = actorId!,
            ActorName = actorName,
            ActorType = actorType,
            Action = action!,
            ActionCategory = actionCategory,
            Resource = resource,
            ResourceId = resourceId,
            ResourceName = resourceName,
            Targets = targets,
            Metadata = metadata,
            OccurredAt = occurredAt ?? clock.GetUtcNow(),
            TenantId = tenantId,
            SessionId = sessionId,
            IpAddress = ipAddress?.ToString(),
            IpCountry = location.Country,
            IpCity = location.City,
            UserAgent = userAgent,
            Outcome = outcome,
            Version = version,
        };
        return new ParsedEvent(record, idempotencyKey, EventSearchText.Of(record));
    }

    private static string? Identifier(JsonElement body, string name, string prefix, List<FieldError> errors, bool required = false)
    {
        var value = String(body, name, prefix, errors, required);
        if (value is null)
        {
            return null;
        }

        if (value.Length == 0)
        {
            errors.Add(new(prefix + name, "must not be empty"));
            return null;
        }

        if (value.Length > IngestLimits.MaxIdLength)
        {
            errors.Add(new(prefix + name, $"must be at most {IngestLimits.MaxIdLength} characters"));
            return null;
        }

        if (value.AsSpan().ContainsAny(ControlCharacters))
        {
            errors.Add(new(prefix + name, "must not contain control characters"));
            return null;
        }

        return value;
    }

    private static string? Text(JsonElement body, string name, string prefix, List<FieldError> errors, int maxLength)
    {
        var value = String(body, name, prefix, errors, required: false);
        if (value is null)
        {
            return null;
        }

        if (value.Length > maxLength)
        {
            errors.Add(new(prefix + name, $"must be at most {maxLength} characters"));
            return null;
        }

        // Free text may hold tabs and line breaks, but not other control characters (NUL, ESC, …).
        if (value.AsSpan().ContainsAny(ControlCharactersInText))
        {
            errors.Add(new(prefix + name, "must not contain control characters other than tab and line breaks"));
            return null;
        }

        return value;
    }

    private static string? String(JsonElement body, string name, string prefix, List<FieldError> errors, bool required)
    {
        if (!body.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors.Add(new(prefix + name, "is required"));
            }

            return null;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            errors.Add(new(prefix + name, $"must be a string, got {Describe(element.ValueKind)}"));
            return null;
        }

        var value = ReadString(element);
        if (value is null)
        {
            errors.Add(new(prefix + name, "must be valid Unicode (it holds a lone surrogate)"));
        }

        return value;
    }

    /// <summary>Reads a JSON string, or null when it cannot be represented as valid UTF-16/UTF-8 (lone surrogates).</summary>
    internal static string? ReadString(JsonElement element)
    {
        string value;
        try
        {
            value = element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return null;
        }

        return IsValidUnicode(value) ? value : null;
    }

    /// <summary>
    /// Reads a property name, or null when it is not valid Unicode: a lone surrogate escape such as
    /// <c>"\ud800"</c> makes <see cref="JsonProperty.Name"/> throw, or yields a string no store can keep.
    /// </summary>
    internal static string? ReadName(JsonProperty property)
    {
        string name;
        try
        {
            name = property.Name;
        }
        catch (InvalidOperationException)
        {
            return null;
        }

        return IsValidUnicode(name) ? name : null;
    }

    /// <summary>
    /// Reports every unknown field of <paramref name="obj"/>; returns false when a name is not valid
    /// Unicode, in which case the object must not be searched by name at all.
    /// </summary>
    internal static bool CheckFieldNames(JsonElement obj, IReadOnlySet<string> known, string prefix, List<FieldError> errors)
    {
        var namesValid = true;
        foreach (var property in obj.EnumerateObject())
        {
            if (IsKnownPlainName(property, known))
            {
                continue;
            }

            var fieldName = ReadName(property);
            namesValid &= fieldName is not null;
            if (fieldName is null || !known.Contains(fieldName))
            {
                errors.Add(new(prefix + EchoName(property), "is not a known field"));
            }
        }

        return namesValid;
    }

    /// <summary>
    /// True when the name is written without escapes and is one of <paramref name="known"/>; it is
    /// looked up from the raw bytes, so the usual case makes no string. Anything else (escapes,
    /// non-ASCII, unknown) returns false and takes the careful path.
    /// </summary>
    private static bool IsKnownPlainName(JsonProperty property, IReadOnlySet<string> known)
    {
        if (known is not HashSet<string> set)
        {
            return false;
        }

        var raw = JsonMarshal.GetRawUtf8PropertyName(property);
        if (raw.Length > MaxKnownNameLength)
        {
            return false;
        }

        Span<char> name = stackalloc char[MaxKnownNameLength];
        for (var i = 0; i < raw.Length; i++)
        {
            // Known names are ASCII letters and '_'; a backslash starts an escape.
            if (raw[i] >= 0x80 || raw[i] == (byte)'\\')
            {
                return false;
            }

            name[i] = (char)raw[i];
        }

        return set.GetAlternateLookup<ReadOnlySpan<char>>().Contains(name[..raw.Length]);
    }

    /// <summary>A property name as echoed in an error: short, printable, and always valid Unicode.</summary>
    internal static string EchoName(JsonProperty property) =>
        ReadName(property) is { } name ? SafeName(name) : "(a name that is not valid Unicode)";

    private static IPAddress? IpAddress(JsonElement body, string prefix, List<FieldError> errors)
    {
        var value = Identifier(body, "ip_address", prefix, errors);
        if (value is null)
        {
            return null;
        }

        if (!IpAddressText.TryParse(value, out var address))
        {
            errors.Add(new(prefix + "ip_address", "must be an IPv4 address (four decimal parts) or an IPv6 address without a zone"));
            return null;
        }

        return address;
    }

    private static EventOutcome Outcome(JsonElement body, string prefix, List<FieldError> errors)
    {
        var value = String(body, "outcome", prefix, errors, required: false);
        switch (value)
        {
            case null:
            case "success":
                return EventOutcome.Success;
            case "failure":
                return EventOutcome.Failure;
            default:
                errors.Add(new(prefix + "outcome", "must be 'success' or 'failure'"));
                return EventOutcome.Success;
        }
    }

    private static int? Version(JsonElement body, string prefix, List<FieldError> errors)
    {
        if (!body.TryGetProperty("version", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out var version) || version < 0)
        {
            errors.Add(new(prefix + "version", "must be a non-negative integer"));
            return null;
        }

        return version;
    }

    private DateTimeOffset? OccurredAt(JsonElement body, string prefix, List<FieldError> errors)
    {
        var value = String(body, "occurred_at", prefix, errors, required: false);
        if (value is null)
        {
            return null;
        }

        if (!Rfc3339Pattern().IsMatch(value)
            || !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            errors.Add(new(prefix + "occurred_at", "must be an RFC 3339 time such as 2026-11-22T10:15:30Z"));
            return null;
        }

        if (parsed.UtcDateTime.Year < 1970)
        {
            errors.Add(new(prefix + "occurred_at", "must not be before 1970"));
            return null;
        }

        if (parsed > clock.GetUtcNow() + maxClockSkew)
        {
            errors.Add(new(prefix + "occurred_at", $"is more than {maxClockSkew.TotalMinutes:0} minutes in the future"));
            return null;
        }

        return parsed.ToUniversalTime();
    }

    private static JsonElement? Metadata(JsonElement body, string name, string prefix, List<FieldError> errors)
    {
        if (!body.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new(prefix + name, $"must be a JSON object, got {Describe(element.ValueKind)}"));
            return null;
        }

        var keys = 0;
        foreach (var _ in element.EnumerateObject())
        {
            keys++;
        }

        if (keys > IngestLimits.MaxMetadataKeys)
        {
            errors.Add(new(prefix + name, $"may have at most {IngestLimits.MaxMetadataKeys} top-level keys, got {keys}"));
            return null;
        }

        var problem = CheckJson(element, 1);
        if (problem is not null)
        {
            errors.Add(new(prefix + name, problem));
            return null;
        }

        return element.Clone();
    }

    /// <summary>Checks nesting depth and that every string and key is valid Unicode.</summary>
    private static string? CheckJson(JsonElement element, int depth)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                if (depth > IngestLimits.MaxMetadataDepth)
                {
                    return $"may be nested at most {IngestLimits.MaxMetadataDepth} levels deep";
                }

                foreach (var property in element.EnumerateObject())
                {
                    if (ReadName(property) is null)
                    {
                        return "holds a key that is not valid Unicode (a lone surrogate)";
                    }

                    if (CheckJson(property.Value, depth + 1) is { } problem)
                    {
                        return problem;
                    }
                }

                return null;
            case JsonValueKind.Array:
                if (depth > IngestLimits.MaxMetadataDepth)
                {
                    return $"may be nested at most {IngestLimits.MaxMetadataDepth} levels deep";
                }

                foreach (var item in element.EnumerateArray())
                {
                    if (CheckJson(item, depth + 1) is { } problem)
                    {
                        return problem;
                    }
                }

                return null;
            case JsonValueKind.String:
                return ReadString(element) is null ? "holds a string that is not valid Unicode (a lone surrogate)" : null;
            default:
                return null;
        }
    }

    private static bool IsValidUnicode(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static List<EventTarget> Targets(JsonElement body, string prefix, List<FieldError> errors)
    {
        var targets = new List<EventTarget>();
        if (!body.TryGetProperty("targets", out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return targets;
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            errors.Add(new(prefix + "targets", $"must be an array, got {Describe(element.ValueKind)}"));
            return targets;
        }

        if (element.GetArrayLength() > IngestLimits.MaxTargets)
        {
            errors.Add(new(prefix + "targets", $"may hold at most {IngestLimits.MaxTargets} targets"));
            return targets;
        }

        var index = 0;
        foreach (var item in element.EnumerateArray())
        {
            var itemPrefix = $"{prefix}targets[{index++}].";
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new(itemPrefix.TrimEnd('.'), "must be a JSON object"));
                continue;
            }

            if (!CheckFieldNames(item, KnownTargetFields, itemPrefix, errors))
            {
                continue;
            }

            var type = Identifier(item, "type", itemPrefix, errors, required: true);
            var id = Identifier(item, "id", itemPrefix, errors);
            var name = Text(item, "name", itemPrefix, errors, IngestLimits.MaxTextLength);
            var metadata = Metadata(item, "metadata", itemPrefix, errors);
            if (type is not null)
            {
                targets.Add(new EventTarget { Type = type, Id = id, Name = name, Metadata = metadata });
            }
        }

        return targets;
    }

    /// <summary>Field names are echoed in errors: keep them short and printable.</summary>
    private static string SafeName(string name)
    {
        var safe = new string(name.Take(64).Select(c => char.IsControl(c) || char.IsSurrogate(c) ? '?' : c).ToArray());
        return name.Length > 64 ? safe + "…" : safe;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    // char.IsControl: U+0000-U+001F and U+007F-U+009F.
    private static readonly SearchValues<char> ControlCharacters = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(c => (char)c), .. Enumerable.Range(0x7F, 0x21).Select(c => (char)c)]);

    // The same without tab, line feed and carriage return, which free text may hold.
    private static readonly SearchValues<char> ControlCharactersInText = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(c => (char)c).Where(c => c is not ('\t' or '\n' or '\r')), .. Enumerable.Range(0x7F, 0x21).Select(c => (char)c)]);

    [GeneratedRegex(@"^[A-Za-z0-9_:\-]+(\.[A-Za-z0-9_:\-]+)*$")]
    private static partial Regex ActionPattern();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339Pattern();
}

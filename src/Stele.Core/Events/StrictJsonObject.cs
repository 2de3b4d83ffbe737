using System.Text.Json;

namespace Stele.Core.Events;

/// <summary>
/// Reads one JSON object of a fixed v1 shape: refuses unknown and duplicate members up front and
/// turns every type problem into an <see cref="EventFormatException"/> naming the member.
/// </summary>
internal sealed class StrictJsonObject
{
    private readonly Dictionary<string, JsonElement> _members = new(StringComparer.Ordinal);
    private readonly string _what;

    public StrictJsonObject(JsonElement element, string what, IReadOnlySet<string> allowed)
    {
        _what = what;
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new EventFormatException(
                EventFormatException.NotAnObject, $"The {what} must be a JSON object, not {element.ValueKind}.");
        }

        foreach (var property in element.EnumerateObject())
        {
            if (!allowed.Contains(property.Name))
            {
                throw new EventFormatException(
                    EventFormatException.UnknownMember, $"The {what} has a member \"{property.Name}\" that v1 does not define.");
            }

            if (!_members.TryAdd(property.Name, property.Value))
            {
                throw new EventFormatException(
                    EventFormatException.DuplicateMember, $"The {what} has the member \"{property.Name}\" twice.");
            }
        }
    }

    public bool Has(string name) => _members.ContainsKey(name);

    public JsonElement Required(string name, JsonValueKind kind)
    {
        if (!_members.TryGetValue(name, out var value))
        {
            throw new EventFormatException(
                EventFormatException.MissingMember, $"The {_what} has no \"{name}\" member.");
        }

        if (value.ValueKind != kind)
        {
            throw new EventFormatException(
                EventFormatException.WrongType, $"The {_what} member \"{name}\" must be {kind}, not {value.ValueKind}.");
        }

        return value;
    }

    public JsonElement? Optional(string name, JsonValueKind kind) =>
        _members.ContainsKey(name) ? Required(name, kind) : null;

    public string RequiredString(string name) => Required(name, JsonValueKind.String).GetString()!;

    public string? OptionalString(string name) => Optional(name, JsonValueKind.String)?.GetString();

    public long RequiredInt64(string name)
    {
        var value = Required(name, JsonValueKind.Number);
        if (!value.TryGetInt64(out var number))
        {
            throw new EventFormatException(
                EventFormatException.WrongType, $"The {_what} member \"{name}\" must be an integer.");
        }

        return number;
    }

    public int? OptionalInt32(string name)
    {
        if (!Has(name))
        {
            return null;
        }

        var value = Required(name, JsonValueKind.Number);
        if (!value.TryGetInt32(out var number))
        {
            throw new EventFormatException(
                EventFormatException.WrongType, $"The {_what} member \"{name}\" must be a 32-bit integer.");
        }

        return number;
    }

    public DateTimeOffset RequiredTime(string name)
    {
        var text = RequiredString(name);
        if (!EventTime.TryParse(text, out var time))
        {
            throw new EventFormatException(
                EventFormatException.InvalidValue,
                $"The {_what} member \"{name}\" is not a UTC RFC 3339 time with six fractional digits.");
        }

        return time;
    }
}

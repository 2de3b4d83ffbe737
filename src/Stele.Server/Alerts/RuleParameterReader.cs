using System.Globalization;
using System.Text.Json;
using Stele.Server.Api;
using Stele.Server.Ingestion;

namespace Stele.Server.Alerts;

/// <summary>
/// Reads a rule's <c>parameters</c> object strictly: unknown fields, wrong types and values out of
/// range are reported per field (<c>parameters.threshold</c>, …), defaults fill what is absent.
/// </summary>
internal sealed class RuleParameterReader
{
    private const string Prefix = "parameters.";
    private readonly Dictionary<string, JsonElement> _values = new(StringComparer.Ordinal);

    public RuleParameterReader(JsonElement? parameters, IReadOnlySet<string> known, List<FieldError> errors)
    {
        Errors = errors;
        if (parameters is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new("parameters", "must be a JSON object"));
            return;
        }

        if (!EventValidator.CheckFieldNames(element, known, Prefix, errors))
        {
            return;
        }

        foreach (var property in element.EnumerateObject())
        {
            _values[property.Name] = property.Value;
        }
    }

    public List<FieldError> Errors { get; }

    public long Integer(string name, long fallback, long min, long max)
    {
        if (!_values.TryGetValue(name, out var value))
        {
            return fallback;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number) || number < min || number > max)
        {
            Errors.Add(new(Prefix + name, $"must be a whole number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}"));
            return fallback;
        }

        return number;
    }

    public double Number(string name, double fallback, double minExclusive, double max)
    {
        if (!_values.TryGetValue(name, out var value))
        {
            return fallback;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number) || number <= minExclusive || number > max)
        {
            Errors.Add(new(Prefix + name, $"must be a number above {minExclusive.ToString(CultureInfo.InvariantCulture)} and at most {max.ToString(CultureInfo.InvariantCulture)}"));
            return fallback;
        }

        return number;
    }

    public string? Text(string name, string? fallback, int maxLength)
    {
        if (!_values.TryGetValue(name, out var value))
        {
            return fallback;
        }

        var text = value.ValueKind == JsonValueKind.String ? EventValidator.ReadString(value) : null;
        if (text is null || text.Length == 0 || text.Length > maxLength || text.Any(char.IsControl))
        {
            Errors.Add(new(Prefix + name, $"must be a string of 1 to {maxLength} printable characters"));
            return fallback;
        }

        return text;
    }

    public string Choice(string name, string fallback, IReadOnlyList<string> choices)
    {
        var text = Text(name, fallback, 64)!;
        if (!choices.Contains(text, StringComparer.Ordinal))
        {
            Errors.Add(new(Prefix + name, $"must be one of: {string.Join(", ", choices)}"));
            return fallback;
        }

        return text;
    }

    /// <summary>A list of strings; <paramref name="fallback"/> when absent; an empty list is an error when <paramref name="required"/>.</summary>
    public IReadOnlyList<string> Texts(string name, IReadOnlyList<string> fallback, int maxCount, int maxLength, bool required, bool allowEmpty = false)
    {
        if (!_values.TryGetValue(name, out var value))
        {
            if (required)
            {
                Errors.Add(new(Prefix + name, "is required"));
            }

            return fallback;
        }

        if (value.ValueKind != JsonValueKind.Array || (value.GetArrayLength() == 0 && !allowEmpty) || value.GetArrayLength() > maxCount)
        {
            Errors.Add(new(Prefix + name, $"must be an array of {(allowEmpty ? 0 : 1)} to {maxCount} strings"));
            return fallback;
        }

        var result = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            var text = item.ValueKind == JsonValueKind.String ? EventValidator.ReadString(item) : null;
            if (text is null || text.Length == 0 || text.Length > maxLength || text.Any(char.IsControl))
            {
                Errors.Add(new(Prefix + name, $"must hold strings of 1 to {maxLength} printable characters"));
                return fallback;
            }

            if (!result.Contains(text, StringComparer.Ordinal))
            {
                result.Add(text);
            }
        }

        return result;
    }

    /// <summary>Action patterns (<c>*</c> wildcards), validated as <c>GET /events</c> validates its <c>action</c> filter.</summary>
    public IReadOnlyList<ActionPattern> Patterns(string name, IReadOnlyList<string> fallback, bool required)
    {
        var texts = Texts(name, fallback, 50, 256, required);
        foreach (var text in texts)
        {
            if (!ActionPatterns.IsValid(text))
            {
                Errors.Add(new(Prefix + name, "must hold action patterns: letters, digits, '_', ':', '.', '-' and '*' wildcards"));
                return [];
            }
        }

        return texts.Select(t => new ActionPattern(t)).ToList();
    }
}

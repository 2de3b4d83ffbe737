using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Stele.Server.Api;

/// <summary>Strict query-string reading: unknown or repeated parameters are errors, so a typo never silently widens a search.</summary>
internal sealed partial class QueryParameters
{
    private readonly IQueryCollection _query;
    private readonly List<FieldError> _errors = [];

    public QueryParameters(HttpRequest request, params string[] allowed)
    {
        _query = request.Query;
        foreach (var (name, values) in _query)
        {
            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                _errors.Add(new(name.Length > 64 ? name[..64] : name, "is not a known query parameter"));
            }
            else if (values.Count > 1)
            {
                _errors.Add(new(name, "may be given only once"));
            }
        }
    }

    public string? String(string name, int maxLength = 256)
    {
        var value = _query[name].ToString();
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (value.Length > maxLength)
        {
            _errors.Add(new(name, $"must be at most {maxLength} characters"));
            return null;
        }

        if (value.Any(char.IsControl))
        {
            _errors.Add(new(name, "must not contain control characters"));
            return null;
        }

        return value;
    }

    public long? Long(string name, long min, long max)
    {
        var value = String(name, 20);
        if (value is null)
        {
            return null;
        }

        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < min || number > max)
        {
            _errors.Add(new(name, $"must be an integer from {min} to {max}"));
            return null;
        }

        return number;
    }

    public DateTimeOffset? Time(string name)
    {
        var value = String(name, 40);
        if (value is null)
        {
            return null;
        }

        if (!Rfc3339().IsMatch(value)
            || !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            _errors.Add(new(name, "must be an RFC 3339 time such as 2026-11-22T10:15:30Z"));
            return null;
        }

        return time;
    }

    public void Fail(string name, string message) => _errors.Add(new(name, message));

    /// <summary>Throws one validation problem listing every bad parameter.</summary>
    public void ThrowIfInvalid()
    {
        if (_errors.Count > 0)
        {
            throw ApiException.Validation("Some query parameters are not valid.", _errors);
        }
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")]
    internal static partial Regex Rfc3339();
}

using System.Globalization;
using System.Text.Json;
using Stele.Server.Api;
using Stele.Server.Ingestion;
using Stele.Storage;

namespace Stele.Server.Exports;

/// <summary>
/// A validated <c>POST /exports</c> body: the filters of <c>GET /events</c> (as strings, exactly as
/// given), the format and its options. Stored on the job row as normalised JSON, so a restarted
/// job exports exactly what was asked.
/// </summary>
internal sealed class ExportRequest
{
    public const string Csv = "csv";
    public const string JsonLines = "jsonl";

    /// <summary>The filters that <c>GET /events</c> accepts (its paging parameters aside).</summary>
    public static readonly string[] FilterNames =
    [
        "action", "actor_id", "resource", "resource_id", "target_type", "target_id", "tenant_id", "session_id",
        "ip_country", "outcome", "from", "to", "search",
    ];

    private ExportRequest(string format, bool gzip, bool includeProofs, SortedDictionary<string, string> filters)
    {
        Format = format;
        Gzip = gzip;
        IncludeProofs = includeProofs;
        Filters = filters;
    }

    public string Format { get; }

    public bool Gzip { get; }

    public bool IncludeProofs { get; }

    /// <summary>The given filters by name; absent ones are not listed.</summary>
    public IReadOnlyDictionary<string, string> Filters { get; }

    public string FileExtension => (Format == Csv ? ".csv" : ".jsonl") + (Gzip ? ".gz" : string.Empty);

    public string ContentType => Gzip ? "application/gzip" : Format == Csv ? "text/csv; charset=utf-8" : "application/x-ndjson";

    /// <summary>Validates a request body strictly: unknown fields and wrong types are errors, every one listed.</summary>
    public static ExportRequest Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.Validation("The body must be a JSON object.");
        }

        var errors = new List<FieldError>();
        string? format = null;
        bool gzip = false, proofs = false;
        var filters = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            var name = property.Name;
            var value = property.Value;
            if (name == "format")
            {
                format = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                if (format is not (Csv or JsonLines))
                {
                    errors.Add(new("format", "must be 'csv' or 'jsonl'"));
                }
            }
            else if (name is "gzip" or "include_proofs")
            {
                if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    errors.Add(new(name, "must be true or false"));
                }
                else if (name == "gzip")
                {
                    gzip = value.GetBoolean();
                }
                else
                {
                    proofs = value.GetBoolean();
                }
            }
            else if (FilterNames.Contains(name, StringComparer.Ordinal))
            {
                if (value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }

                if (value.ValueKind != JsonValueKind.String)
                {
                    errors.Add(new(name, "must be a string"));
                    continue;
                }

                var text = value.GetString()!;
                if (CheckFilter(name, text, errors))
                {
                    if (!filters.TryAdd(name, text))
                    {
                        errors.Add(new(name, "may be given only once"));
                    }
                }
            }
            else
            {
                errors.Add(new(name.Length > 64 ? name[..64] : name, "is not a known field"));
            }
        }

        if (format is null && !errors.Exists(e => e.Field == "format"))
        {
            errors.Add(new("format", "is required: 'csv' or 'jsonl'"));
        }

        if (proofs && format == Csv)
        {
            errors.Add(new("include_proofs", "is only available with format 'jsonl'"));
        }

        if (errors.Count > 0)
        {
            throw ApiException.Validation("The export request is not valid.", errors);
        }

        return new ExportRequest(format!, gzip, proofs, filters);
    }

    /// <summary>Reads the normalised JSON written by <see cref="ToJson"/> (a job row).</summary>
    public static ExportRequest FromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Parse(document.RootElement);
    }

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            WriteTo(w);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The request as a flat object: filters, then format, gzip, include_proofs.</summary>
    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        foreach (var (name, value) in Filters)
        {
            w.WriteString(name, value);
        }

        w.WriteString("format", Format);
        w.WriteBoolean("gzip", Gzip);
        w.WriteBoolean("include_proofs", IncludeProofs);
        w.WriteEndObject();
    }

    /// <summary>The store query for one page, newest first like <c>GET /events</c>, below <paramref name="beforeSeq"/>.</summary>
    public EventQuery ToQuery(long beforeSeq, int limit) => new()
    {
        Action = Filter("action"),
        ActorId = Filter("actor_id"),
        Resource = Filter("resource"),
        ResourceId = Filter("resource_id"),
        TargetType = Filter("target_type"),
        TargetId = Filter("target_id"),
        TenantId = Filter("tenant_id"),
        SessionId = Filter("session_id"),
        IpCountry = Filter("ip_country"),
        Outcome = Filter("outcome"),
        FromMicros = Filter("from") is { } from ? LedgerSequencer.ToMicros(ParseTime(from)) : null,
        ToMicros = Filter("to") is { } to ? LedgerSequencer.ToMicros(ParseTime(to)) : null,
        Search = Filter("search"),
        AfterSeq = beforeSeq,
        Ascending = false,
        Limit = limit,
    };

    private string? Filter(string name) => Filters.TryGetValue(name, out var value) ? value : null;

    private static DateTimeOffset ParseTime(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    /// <summary>The same rules as the query parameters of <c>GET /events</c>.</summary>
    private static bool CheckFilter(string name, string value, List<FieldError> errors)
    {
        var max = name == "search" ? 200 : name is "from" or "to" ? 40 : 256;
        string? problem = null;
        if (value.Length == 0 || value.Length > max)
        {
            problem = $"must be 1 to {max} characters";
        }
        else if (value.Any(char.IsControl))
        {
            problem = "must not contain control characters";
        }
        else if (name == "action" && !ActionPatterns.IsValid(value))
        {
            problem = "must be an action or a pattern of letters, digits, '.', '_', '-', ':' and '*'";
        }
        else if (name == "outcome" && value is not ("success" or "failure"))
        {
            problem = "must be 'success' or 'failure'";
        }
        else if (name is "from" or "to"
            && (!QueryParameters.Rfc3339().IsMatch(value)
                || !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _)))
        {
            problem = "must be an RFC 3339 time such as 2026-11-22T10:15:30Z";
        }

        if (problem is not null)
        {
            errors.Add(new(name, problem));
            return false;
        }

        return true;
    }
}

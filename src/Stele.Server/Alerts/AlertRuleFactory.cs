using System.Globalization;
using System.Text.Json;
using Stele.Server.Alerts.Rules;
using Stele.Server.Api;

namespace Stele.Server.Alerts;

/// <summary>Builds a rule's logic from its type and <c>parameters</c>, validating every parameter.</summary>
internal static class AlertRuleFactory
{
    public const string IntegrityViolation = "integrity_violation";

    /// <summary>The types a client may create (the integrity rule is built in, one per ledger).</summary>
    public static IReadOnlyList<string> CreatableTypes { get; } =
        [NewCountryRule.TypeName, DestructiveBurstRule.TypeName, IngestionSpikeRule.TypeName, RepeatedActionRule.TypeName, OffHoursRule.TypeName];

    private static readonly HashSet<string> NewCountryFields = new(StringComparer.Ordinal) { "actions" };
    private static readonly HashSet<string> BurstFields = new(StringComparer.Ordinal) { "actions", "threshold", "window_seconds", "group_by", "cooldown_seconds" };
    private static readonly HashSet<string> SpikeFields = new(StringComparer.Ordinal) { "bucket_seconds", "multiplier", "baseline_days", "min_count" };
    private static readonly HashSet<string> RepeatedFields = new(StringComparer.Ordinal) { "actions", "threshold", "window_seconds", "cooldown_seconds" };
    private static readonly HashSet<string> OffHoursFields = new(StringComparer.Ordinal) { "actions", "time_zone", "days", "start", "end", "holidays", "cooldown_seconds" };
    private static readonly HashSet<string> NoFields = new(StringComparer.Ordinal);

    private const long MaxWindowSeconds = 7 * 86_400;

    /// <summary>The rule for <paramref name="type"/>, or null with the problems added to <paramref name="errors"/>. Null too for the integrity rule, which has no per-event logic.</summary>
    public static IAlertRule? Create(string type, JsonElement? parameters, List<FieldError> errors)
    {
        switch (type)
        {
            case NewCountryRule.TypeName:
                {
                    var p = new RuleParameterReader(parameters, NewCountryFields, errors);
                    var actions = p.Patterns("actions", NewCountryRule.DefaultActions, required: false);
                    return errors.Count == 0 ? new NewCountryRule(actions) : null;
                }

            case DestructiveBurstRule.TypeName:
                {
                    var p = new RuleParameterReader(parameters, BurstFields, errors);
                    var actions = p.Patterns("actions", DestructiveBurstRule.DefaultActions, required: false);
                    var threshold = p.Integer("threshold", 10, 1, 100_000);
                    var window = p.Integer("window_seconds", 300, 1, MaxWindowSeconds);
                    var groupBy = p.Choice("group_by", "actor", DestructiveBurstRule.Groupings);
                    var cooldown = p.Integer("cooldown_seconds", 900, 0, MaxWindowSeconds);
                    return errors.Count == 0 ? new DestructiveBurstRule(actions, (int)threshold, window, groupBy, cooldown) : null;
                }

            case IngestionSpikeRule.TypeName:
                {
                    var p = new RuleParameterReader(parameters, SpikeFields, errors);
                    var bucket = p.Integer("bucket_seconds", 3600, 60, 86_400);
                    if (86_400 % bucket != 0)
                    {
                        errors.Add(new("parameters.bucket_seconds", "must divide a day (86400) evenly, e.g. 60, 300, 900, 3600"));
                    }

                    var multiplier = p.Number("multiplier", 3, 1, 1000);
                    var days = p.Integer("baseline_days", 7, 1, 30);
                    var minCount = p.Integer("min_count", 100, 1, 1_000_000_000);
                    return errors.Count == 0 ? new IngestionSpikeRule(bucket, multiplier, (int)days, minCount) : null;
                }

            case RepeatedActionRule.TypeName:
                {
                    var p = new RuleParameterReader(parameters, RepeatedFields, errors);
                    var actions = p.Patterns("actions", [], required: true);
                    var threshold = p.Integer("threshold", 5, 2, 100_000);
                    var window = p.Integer("window_seconds", 600, 1, MaxWindowSeconds);
                    var cooldown = p.Integer("cooldown_seconds", window, 0, MaxWindowSeconds);
                    return errors.Count == 0 ? new RepeatedActionRule(actions, (int)threshold, window, cooldown) : null;
                }

            case OffHoursRule.TypeName:
                return CreateOffHours(new RuleParameterReader(parameters, OffHoursFields, errors), errors);

            case IntegrityViolation:
                _ = new RuleParameterReader(parameters, NoFields, errors);
                return null;

            default:
                errors.Add(new("type", $"must be one of: {string.Join(", ", CreatableTypes)}"));
                return null;
        }
    }

    /// <summary>The logic of a stored rule (its parameters were validated when it was stored).</summary>
    public static IAlertRule? FromStored(string type, string parametersJson)
    {
        using var document = JsonDocument.Parse(parametersJson);
        var errors = new List<FieldError>();
        var rule = Create(type, document.RootElement.Clone(), errors);
        return errors.Count == 0 ? rule : throw new InvalidOperationException($"The stored parameters of a {type} rule no longer validate: {errors[0].Field} {errors[0].Message}.");
    }

    private static OffHoursRule? CreateOffHours(RuleParameterReader p, List<FieldError> errors)
    {
        var actions = p.Patterns("actions", ["*"], required: false);
        var zoneName = p.Text("time_zone", null, 64);
        TimeZoneInfo? zone = null;
        if (zoneName is null)
        {
            if (!errors.Exists(e => e.Field == "parameters.time_zone"))
            {
                errors.Add(new("parameters.time_zone", "is required: an IANA time zone such as Europe/Berlin or America/New_York"));
            }
        }
        else if (!TimeZoneInfo.TryFindSystemTimeZoneById(zoneName, out zone) || !zoneName.Contains('/', StringComparison.Ordinal) && zoneName != "UTC")
        {
            errors.Add(new("parameters.time_zone", "must be an IANA time zone such as Europe/Berlin or America/New_York"));
            zone = null;
        }

        var days = new List<DayOfWeek>();
        foreach (var name in p.Texts("days", OffHoursRule.DefaultDays, 7, 3, required: false))
        {
            var index = OffHoursRule.DayNames.ToList().IndexOf(name);
            if (index < 0)
            {
                errors.Add(new("parameters.days", "must hold day names: sun, mon, tue, wed, thu, fri, sat"));
                break;
            }

            days.Add((DayOfWeek)index);
        }

        var start = ParseTime(p.Text("start", "09:00", 5), "start", allowMidnightEnd: false, errors);
        var end = ParseTime(p.Text("end", "18:00", 5), "end", allowMidnightEnd: true, errors);
        if (start is { } s && (end is null || end.Value > s) is false)
        {
            errors.Add(new("parameters.end", "must be later than start"));
        }

        var holidays = new HashSet<DateOnly>();
        var holidayTexts = p.Texts("holidays", [], 400, 10, required: false, allowEmpty: true);
        foreach (var text in holidayTexts)
        {
            if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                errors.Add(new("parameters.holidays", "must hold dates as YYYY-MM-DD"));
                break;
            }

            holidays.Add(day);
        }

        var cooldown = p.Integer("cooldown_seconds", 0, 0, MaxWindowSeconds);
        return errors.Count == 0 && zone is not null && start is not null
            ? new OffHoursRule(actions, zone, days, start.Value, end, holidays, cooldown)
            : null;
    }

    /// <summary>An <c>HH:mm</c> time; <c>24:00</c> (as null: the end of the day) only for an end.</summary>
    private static TimeOnly? ParseTime(string? text, string name, bool allowMidnightEnd, List<FieldError> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (allowMidnightEnd && text == "24:00")
        {
            return null;
        }

        if (!TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
        {
            errors.Add(new("parameters." + name, "must be a time as HH:mm" + (allowMidnightEnd ? " (24:00 for the end of the day)" : string.Empty)));
            return null;
        }

        return time;
    }
}

using System.Globalization;

namespace Stele.Server.Alerts.Rules;

/// <summary>
/// <c>off_hours</c>: a watched action happens (by its <c>occurred_at</c>, in an IANA time zone)
/// on a day that is not a business day, on a holiday, or outside [start, end). An optional
/// per-actor cooldown keeps a night-long batch job from raising one alert per event.
/// </summary>
internal sealed class OffHoursRule(
    IReadOnlyList<ActionPattern> actions,
    TimeZoneInfo zone,
    IReadOnlyList<DayOfWeek> days,
    TimeOnly start,
    TimeOnly? end,
    IReadOnlySet<DateOnly> holidays,
    long cooldownSeconds) : IAlertRule
{
    public const string TypeName = "off_hours";

    public static IReadOnlyList<string> DayNames { get; } = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    public static IReadOnlyList<string> DefaultDays { get; } = ["mon", "tue", "wed", "thu", "fri"];

    public string Type => TypeName;

    public IReadOnlyDictionary<string, object?> Parameters => new Dictionary<string, object?>
    {
        ["actions"] = actions.Select(a => a.Text).ToList(),
        ["time_zone"] = zone.Id,
        ["days"] = days.Select(d => DayNames[(int)d]).ToList(),
        ["start"] = start.ToString("HH:mm", CultureInfo.InvariantCulture),
        ["end"] = end?.ToString("HH:mm", CultureInfo.InvariantCulture) ?? "24:00",
        ["holidays"] = holidays.Order().Select(h => h.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).ToList(),
        ["cooldown_seconds"] = cooldownSeconds,
    };

    public IEnumerable<string> StateKeys(EvaluatedEvent e) => cooldownSeconds > 0 ? ["a:" + e.ActorId] : [];

    public void Evaluate(EvaluatedEvent e, RuleState state, ICollection<AlertDraft> raised)
    {
        if (!ActionPattern.AnyMatches(actions, e.Action))
        {
            return;
        }

        var local = TimeZoneInfo.ConvertTime(e.OccurredAt, zone);
        var date = DateOnly.FromDateTime(local.DateTime);
        var time = TimeOnly.FromDateTime(local.DateTime);
        string? why = null;
        if (holidays.Contains(date))
        {
            why = "on a holiday";
        }
        else if (!days.Contains(local.DayOfWeek))
        {
            why = "on a non-business day";
        }
        else if (time < start || (end is { } until && time >= until))
        {
            why = "outside business hours";
        }

        if (why is null)
        {
            return;
        }

        if (cooldownSeconds > 0)
        {
            var key = "a:" + e.ActorId;
            if (state.Get(key, t => t) is { } until && long.Parse(until, CultureInfo.InvariantCulture) > e.ReceivedMicros)
            {
                return;
            }

            state.Set(key, (e.ReceivedMicros + (cooldownSeconds * 1_000_000)).ToString(CultureInfo.InvariantCulture), t => t);
        }

        var when = local.ToString("HH:mm 'on' dddd yyyy-MM-dd", CultureInfo.InvariantCulture);
        raised.Add(new AlertDraft(
            e.Seq.ToString(CultureInfo.InvariantCulture),
            e,
            $"Actor {e.ActorId} performed {e.Action} at {when} ({zone.Id}), {why}",
            new Dictionary<string, object?>
            {
                ["actor_id"] = e.ActorId,
                ["action"] = e.Action,
                ["local_time"] = local.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
                ["time_zone"] = zone.Id,
                ["why"] = why,
            }));
    }
}

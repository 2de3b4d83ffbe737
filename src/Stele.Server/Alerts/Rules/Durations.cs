using System.Globalization;

namespace Stele.Server.Alerts.Rules;

/// <summary>Durations in alert reasons: "30 seconds", "5 minutes", "1 hour 30 minutes".</summary>
internal static class Durations
{
    public static string Describe(long seconds)
    {
        if (seconds < 60 || seconds % 60 != 0)
        {
            return Unit(seconds, "second");
        }

        var minutes = seconds / 60;
        if (minutes < 60 || minutes % 60 == 0 && minutes / 60 == 0)
        {
            return Unit(minutes, "minute");
        }

        var hours = minutes / 60;
        var rest = minutes % 60;
        return rest == 0 ? Unit(hours, "hour") : $"{Unit(hours, "hour")} {Unit(rest, "minute")}";
    }

    private static string Unit(long count, string unit) =>
        count.ToString(CultureInfo.InvariantCulture) + " " + unit + (count == 1 ? string.Empty : "s");
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stele.Server.Alerts.Rules;

/// <summary>
/// The state of one sliding-window group: the times (µs) of its most recent matching events,
/// at most as many as the threshold, and the end of its cooldown after an alert.
/// </summary>
internal sealed class WindowCounter
{
    [JsonPropertyName("t")]
    public List<long> Times { get; set; } = [];

    [JsonPropertyName("c")]
    public long CooldownUntil { get; set; }

    public static WindowCounter Load(string json) => JsonSerializer.Deserialize<WindowCounter>(json) ?? new WindowCounter();

    public string Save() => JsonSerializer.Serialize(this);

    /// <summary>
    /// Counts an event at <paramref name="micros"/>; true when the window now holds
    /// <paramref name="threshold"/> events and no cooldown runs, which starts a new cooldown and window.
    /// </summary>
    public bool Add(long micros, int threshold, long windowMicros, long cooldownMicros)
    {
        Times.RemoveAll(t => t <= micros - windowMicros);
        Times.Add(micros);
        if (Times.Count > threshold)
        {
            Times.RemoveRange(0, Times.Count - threshold);
        }

        if (Times.Count < threshold || micros < CooldownUntil)
        {
            return false;
        }

        CooldownUntil = micros + cooldownMicros;
        Times.Clear();
        return true;
    }

    /// <summary>True when nothing needs remembering any more (the key can be removed).</summary>
    public bool IsIdle(long micros, long windowMicros) =>
        CooldownUntil <= micros && Times.TrueForAll(t => t <= micros - windowMicros);
}

using System.Globalization;
using System.Text.Json;

namespace Stele.Server.Alerts.Rules;

/// <summary>
/// <c>ingestion_spike</c>: the ledger's event count in a time bucket (by received time) exceeds
/// <c>multiplier</c> × the mean count of the same bucket on the past <c>baseline_days</c> days,
/// and <c>min_count</c>. Days before the rule first saw an event are not part of the baseline
/// (they are unknown, not zero); with no past day yet the rule only learns. One alert per bucket.
/// </summary>
internal sealed class IngestionSpikeRule(long bucketSeconds, double multiplier, int baselineDays, long minCount) : IAlertRule
{
    public const string TypeName = "ingestion_spike";
    private const string CountsKey = "counts";
    private const long MicrosPerDay = 86_400_000_000;

    public string Type => TypeName;

    public IReadOnlyDictionary<string, object?> Parameters => new Dictionary<string, object?>
    {
        ["bucket_seconds"] = bucketSeconds,
        ["multiplier"] = multiplier,
        ["baseline_days"] = baselineDays,
        ["min_count"] = minCount,
    };

    public IEnumerable<string> StateKeys(EvaluatedEvent e) => [CountsKey];

    public void Evaluate(EvaluatedEvent e, RuleState state, ICollection<AlertDraft> raised)
    {
        var counts = state.Get(CountsKey, json => JsonSerializer.Deserialize<SpikeCounts>(json) ?? new SpikeCounts()) ?? new SpikeCounts();
        var bucketMicros = bucketSeconds * 1_000_000;
        var bucket = e.ReceivedMicros - (((e.ReceivedMicros % bucketMicros) + bucketMicros) % bucketMicros);
        counts.First ??= bucket;

        if (!counts.Buckets.ContainsKey(bucket))
        {
            // A new bucket: forget those older than the baseline needs.
            var oldest = bucket - (baselineDays * MicrosPerDay);
            foreach (var stale in counts.Buckets.Keys.Where(b => b < oldest).ToList())
            {
                counts.Buckets.Remove(stale);
            }

            counts.Fired.RemoveAll(b => b < bucket);
        }

        counts.Buckets[bucket] = counts.Buckets.GetValueOrDefault(bucket) + 1;
        var count = counts.Buckets[bucket];

        if (!counts.Fired.Contains(bucket))
        {
            var known = 0;
            long total = 0;
            for (var day = 1; day <= baselineDays; day++)
            {
                var past = bucket - (day * MicrosPerDay);
                if (past >= counts.First)
                {
                    known++;
                    total += counts.Buckets.GetValueOrDefault(past);
                }
            }

            if (known > 0)
            {
                var baseline = (double)total / known;
                var threshold = Math.Max(minCount, multiplier * baseline);
                if (count > threshold)
                {
                    counts.Fired.Add(bucket);
                    var from = DateTimeOffset.UnixEpoch.AddTicks(bucket * 10);
                    var to = from.AddSeconds(bucketSeconds);
                    var ratio = baseline > 0 ? $"{(count / baseline).ToString("0.#", CultureInfo.InvariantCulture)}× the baseline of {baseline.ToString("0.#", CultureInfo.InvariantCulture)}" : "with a baseline of 0";
                    raised.Add(new AlertDraft(
                        bucket.ToString(CultureInfo.InvariantCulture),
                        e,
                        $"The ledger received {count.ToString(CultureInfo.InvariantCulture)} events between {from:yyyy-MM-dd HH:mm} and {to:HH:mm} UTC, {ratio} for that time over the past {known.ToString(CultureInfo.InvariantCulture)} day(s)",
                        new Dictionary<string, object?>
                        {
                            ["bucket_start"] = from.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                            ["bucket_seconds"] = bucketSeconds,
                            ["count"] = count,
                            ["baseline"] = Math.Round(baseline, 3),
                            ["baseline_days"] = known,
                            ["threshold"] = Math.Round(threshold, 3),
                        }));
                }
            }
        }

        state.Set(CountsKey, counts, c => JsonSerializer.Serialize(c));
    }

    /// <summary>The rule's state: event counts per bucket start (µs), the first bucket seen, and the bucket already alerted.</summary>
    private sealed class SpikeCounts
    {
        [System.Text.Json.Serialization.JsonPropertyName("b")]
        public Dictionary<long, long> Buckets { get; set; } = [];

        [System.Text.Json.Serialization.JsonPropertyName("f")]
        public long? First { get; set; }

        [System.Text.Json.Serialization.JsonPropertyName("x")]
        public List<long> Fired { get; set; } = [];
    }
}

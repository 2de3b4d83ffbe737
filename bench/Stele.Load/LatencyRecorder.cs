using System.Diagnostics;

namespace Stele.Load;

/// <summary>Collects per-operation latencies from many clients and summarises them.</summary>
internal sealed class LatencyRecorder
{
    private readonly List<double> _milliseconds = [];
    private long _failures;

    public void Record(long startTimestamp) => Record(startTimestamp, Stopwatch.GetTimestamp());

    public void Record(long startTimestamp, long endTimestamp)
    {
        var elapsed = Stopwatch.GetElapsedTime(startTimestamp, endTimestamp).TotalMilliseconds;
        lock (_milliseconds)
        {
            _milliseconds.Add(elapsed);
        }
    }

    public void Fail() => Interlocked.Increment(ref _failures);

    public long Failures => Interlocked.Read(ref _failures);

    public int Count
    {
        get
        {
            lock (_milliseconds)
            {
                return _milliseconds.Count;
            }
        }
    }

    public (double P50, double P99, double P999, double Max) Percentiles()
    {
        double[] sorted;
        lock (_milliseconds)
        {
            sorted = [.. _milliseconds];
        }

        if (sorted.Length == 0)
        {
            return (0, 0, 0, 0);
        }

        Array.Sort(sorted);
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return (At(0.50), At(0.99), At(0.999), sorted[^1]);
    }
}

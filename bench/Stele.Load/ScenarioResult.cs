namespace Stele.Load;

/// <summary>One scenario's outcome: operations, events, failures, wall time and latency percentiles (ms).</summary>
internal sealed record ScenarioResult(
    string Name,
    int Clients,
    long Operations,
    long Events,
    long Failures,
    TimeSpan Elapsed,
    double P50,
    double P99,
    double P999,
    double Max)
{
    public double OperationsPerSecond => Operations / Elapsed.TotalSeconds;

    public double EventsPerSecond => Events / Elapsed.TotalSeconds;

    public override string ToString() =>
        $"{Name,-34} clients {Clients,4}  ops {Operations,9:N0}  events/s {EventsPerSecond,11:N0}  ops/s {OperationsPerSecond,9:N0}  " +
        $"p50 {P50,7:0.00} ms  p99 {P99,7:0.00} ms  p99.9 {P999,7:0.00} ms  failures {Failures}";
}

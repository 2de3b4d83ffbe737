using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stele.Load;

/// <summary>
/// Measures, while another scenario loads the server, how long after its acknowledgement an event
/// (1) appears in a filtered <c>GET /events</c> and (2) is covered by a signed checkpoint.
/// A probe event, each with its own actor id, is sent every <c>interval</c> whether or not the earlier
/// ones have been acknowledged or seen yet, so a run that lags by seconds still records one sample
/// per interval.
/// Two pollers run beside the sender, each every few milliseconds:
/// <list type="bullet">
/// <item>the checkpoint poller reads <c>GET /checkpoint</c> once and settles every waiting probe whose
/// seq the tree covers;</item>
/// <item>the query poller asks for the waiting probe with the lowest seq, and once it is found goes on
/// to the next. A probe is only asked for after every earlier one was found, so its time is never
/// understated (if the server made a later event visible first, its time would be overstated).</item>
/// </list>
/// </summary>
internal sealed class VisibilityProbe(HttpClient http, TimeSpan interval)
{
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan GiveUp = TimeSpan.FromSeconds(60);

    private readonly Lock _lock = new(); // guards the two lists and _sending
    private readonly List<Sent> _awaitingQuery = []; // in seq order
    private readonly List<Sent> _awaitingCheckpoint = [];
    private bool _sending = true;

    public LatencyRecorder Query { get; } = new();

    public LatencyRecorder Checkpoint { get; } = new();

    public async Task RunAsync(Func<bool> running, CancellationToken cancellationToken)
    {
        var queries = PollQueriesAsync(cancellationToken);
        var checkpoints = PollCheckpointsAsync(cancellationToken);
        try
        {
            await SendAsync(running, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_lock)
            {
                _sending = false;
            }
        }

        await Task.WhenAll(queries, checkpoints).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends a probe event every interval without waiting for the earlier ones' acknowledgements
    /// (under batch ingest one takes longer than the interval), then waits for those still in flight.
    /// </summary>
    private async Task SendAsync(Func<bool> running, CancellationToken cancellationToken)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        List<Task> inFlight = [];
        var start = Stopwatch.GetTimestamp();
        for (var n = 0; running() && !cancellationToken.IsCancellationRequested; n++)
        {
            inFlight.Add(SendOneAsync($"probe_{run}_{n}", cancellationToken));
            inFlight.RemoveAll(t => t.IsCompleted);
            var next = start + (long)((n + 1) * interval.TotalSeconds * Stopwatch.Frequency);
            var wait = next - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), cancellationToken).ConfigureAwait(false);
            }
        }

        await Task.WhenAll(inFlight).ConfigureAwait(false);
    }

    private async Task SendOneAsync(string actor, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(new Uri("api/v1/events", UriKind.Relative), new { actor_id = actor, action = "probe.sent" }, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            Query.Fail();
            Checkpoint.Fail();
            return;
        }

        var acknowledged = Stopwatch.GetTimestamp();
        var seq = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).RootElement.GetProperty("seq").GetInt64();
        var sent = new Sent(actor, seq, acknowledged);
        lock (_lock)
        {
            // Kept in seq order, so the query poller asks for them in the order the ledger holds them.
            var at = _awaitingQuery.FindLastIndex(p => p.Seq < seq) + 1;
            _awaitingQuery.Insert(at, sent);
            _awaitingCheckpoint.Add(sent);
        }
    }

    /// <summary>True while probes are being sent or some are still waiting for <paramref name="waiting"/>.</summary>
    private bool Busy(Func<int> waiting)
    {
        lock (_lock)
        {
            return _sending || waiting() > 0;
        }
    }

    private async Task PollQueriesAsync(CancellationToken cancellationToken)
    {
        while (Busy(() => _awaitingQuery.Count))
        {
            Sent? oldest;
            lock (_lock)
            {
                oldest = _awaitingQuery.Count > 0 ? _awaitingQuery[0] : null;
            }

            if (oldest is null)
            {
                await Task.Delay(PollEvery, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var found = await QueryFindsAsync(oldest.Actor, cancellationToken).ConfigureAwait(false);
            var now = Stopwatch.GetTimestamp();
            if (found || Elapsed(oldest, now) > GiveUp)
            {
                lock (_lock)
                {
                    _awaitingQuery.Remove(oldest);
                }

                Settle(Query, oldest, now, found);
                continue; // the next one may be visible already
            }

            await Task.Delay(PollEvery, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task PollCheckpointsAsync(CancellationToken cancellationToken)
    {
        while (Busy(() => _awaitingCheckpoint.Count))
        {
            var treeSize = await CheckpointTreeSizeAsync(cancellationToken).ConfigureAwait(false);
            var now = Stopwatch.GetTimestamp();
            List<(Sent Probe, bool Covered)> settled = [];
            lock (_lock)
            {
                _awaitingCheckpoint.RemoveAll(p =>
                {
                    var covered = treeSize > p.Seq;
                    if (covered || Elapsed(p, now) > GiveUp)
                    {
                        settled.Add((p, covered));
                        return true;
                    }

                    return false;
                });
            }

            foreach (var (probe, covered) in settled)
            {
                Settle(Checkpoint, probe, now, covered);
            }

            await Task.Delay(PollEvery, cancellationToken).ConfigureAwait(false);
        }
    }

    private static TimeSpan Elapsed(Sent probe, long now) => Stopwatch.GetElapsedTime(probe.Acknowledged, now);

    private static void Settle(LatencyRecorder recorder, Sent probe, long now, bool seen)
    {
        if (seen)
        {
            recorder.Record(probe.Acknowledged, now);
        }
        else
        {
            recorder.Fail();
        }
    }

    private async Task<bool> QueryFindsAsync(string actor, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri($"api/v1/events?actor_id={actor}&limit=1", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode
            && JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).RootElement.GetProperty("data").GetArrayLength() == 1;
    }

    /// <summary>The latest signed checkpoint's tree size, or -1 when it cannot be read.</summary>
    private async Task<long> CheckpointTreeSizeAsync(CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri("api/v1/checkpoint", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode
            ? JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).RootElement.GetProperty("tree_size").GetInt64()
            : -1;
    }

    private sealed record Sent(string Actor, long Seq, long Acknowledged);
}

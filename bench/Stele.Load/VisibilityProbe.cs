using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stele.Load;

/// <summary>
/// Measures, while another scenario loads the server, how long after its acknowledgement an event
/// (1) appears in a filtered <c>GET /events</c> and (2) is covered by a signed checkpoint. One probe
/// event at a time, each with its own actor id; both waits poll every few milliseconds.
/// </summary>
internal sealed class VisibilityProbe(HttpClient http, TimeSpan interval)
{
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan GiveUp = TimeSpan.FromSeconds(60);

    public LatencyRecorder Query { get; } = new();

    public LatencyRecorder Checkpoint { get; } = new();

    public async Task RunAsync(Func<bool> running, CancellationToken cancellationToken)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        for (var n = 0; running() && !cancellationToken.IsCancellationRequested; n++)
        {
            var next = Stopwatch.GetTimestamp() + (long)(interval.TotalSeconds * Stopwatch.Frequency);
            var actor = $"probe_{run}_{n}";
            using var response = await http.PostAsJsonAsync(new Uri("api/v1/events", UriKind.Relative), new { actor_id = actor, action = "probe.sent" }, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                Query.Fail();
                Checkpoint.Fail();
                continue;
            }

            var acknowledged = Stopwatch.GetTimestamp();
            var seq = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).RootElement.GetProperty("seq").GetInt64();
            await Task.WhenAll(
                WaitAsync(Query, acknowledged, () => QueryFindsAsync(actor, cancellationToken), cancellationToken),
                WaitAsync(Checkpoint, acknowledged, () => CheckpointCoversAsync(seq, cancellationToken), cancellationToken)).ConfigureAwait(false);
            var wait = next - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task WaitAsync(LatencyRecorder recorder, long since, Func<Task<bool>> done, CancellationToken cancellationToken)
    {
        while (!await done().ConfigureAwait(false))
        {
            if (Stopwatch.GetElapsedTime(since) > GiveUp)
            {
                recorder.Fail();
                return;
            }

            await Task.Delay(PollEvery, cancellationToken).ConfigureAwait(false);
        }

        recorder.Record(since);
    }

    private async Task<bool> QueryFindsAsync(string actor, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri($"api/v1/events?actor_id={actor}&limit=1", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode
            && JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).RootElement.GetProperty("data").GetArrayLength() == 1;
    }

    private async Task<bool> CheckpointCoversAsync(long seq, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri("api/v1/checkpoint", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode
            && JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).RootElement.GetProperty("tree_size").GetInt64() > seq;
    }
}

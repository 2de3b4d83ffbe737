using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stele.EndToEnd.Tests.MultiNode;

/// <summary>
/// Concurrent clients posting to one node: single events and batches of <see cref="BatchSize"/>.
/// Requests are never cancelled by the test (only by a killed server), so on a healthy node every
/// event the server commits is also acknowledged to the test.
/// </summary>
internal sealed class IngestLoad
{
    public const int BatchSize = 10;

    private readonly int[] _perNode;
    private int _failures;

    public IngestLoad(int nodes)
    {
        _perNode = new int[nodes];
    }

    /// <summary>Acknowledged events: id → the seq they were acknowledged with.</summary>
    public ConcurrentDictionary<string, long> Acknowledged { get; } = new(StringComparer.Ordinal);

    /// <summary>Requests a live server answered with an error status.</summary>
    public int Failures => Volatile.Read(ref _failures);

    public ConcurrentQueue<string> FailureSamples { get; } = new();

    public int AcknowledgedBy(int node) => Volatile.Read(ref _perNode[node]);

    /// <summary>Runs one client against <paramref name="address"/> until <paramref name="stop"/> is set or the connection breaks (the node was killed).</summary>
    public async Task<bool> RunClientAsync(Uri address, string key, int node, int client, string tag, CancellationToken stop)
    {
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var batches = client % 3 == 0;
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            try
            {
                if (batches)
                {
                    var events = Enumerable.Range(0, BatchSize).Select(j => Event(tag, i, j)).ToArray();
                    using var response = await http.PostAsJsonAsync("api/v1/events/batch", new { events }, CancellationToken.None);
                    if (!await RecordFailureAsync(response))
                    {
                        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(CancellationToken.None)).RootElement;
                        foreach (var result in body.GetProperty("data").EnumerateArray())
                        {
                            Assert.Equal("created", result.GetProperty("status").GetString());
                            Record(node, result.GetProperty("event"));
                        }
                    }
                }
                else
                {
                    using var response = await http.PostAsJsonAsync("api/v1/events", Event(tag, i, 0), CancellationToken.None);
                    if (!await RecordFailureAsync(response))
                    {
                        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                        Record(node, JsonDocument.Parse(await response.Content.ReadAsStringAsync(CancellationToken.None)).RootElement);
                    }
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
            {
                // The node was killed (or stopped answering): this request was never acknowledged.
                return false;
            }
        }

        return true;
    }

    private static object Event(string tag, int i, int j) => new
    {
        actor_id = tag,
        action = "multinode.test",
        resource = "document",
        resource_id = $"{tag}-{i}-{j}",
        metadata = new { i, j },
    };

    private void Record(int node, JsonElement e)
    {
        Assert.True(Acknowledged.TryAdd(e.GetProperty("id").GetString()!, e.GetProperty("seq").GetInt64()), "An event id was acknowledged twice.");
        Interlocked.Increment(ref _perNode[node]);
    }

    private async Task<bool> RecordFailureAsync(HttpResponseMessage response)
    {
        if (response.IsSuccessStatusCode)
        {
            return false;
        }

        Interlocked.Increment(ref _failures);
        if (FailureSamples.Count < 5)
        {
            FailureSamples.Enqueue($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
        }

        return true;
    }

    /// <summary>
    /// Every acknowledged event is stored with the seq it was acknowledged with, and seq is
    /// 0..n-1 with no gap or repeat. With <paramref name="exact"/> (no node was killed) nothing else
    /// is stored either.
    /// </summary>
    public void AssertLedgerHolds(IReadOnlyDictionary<string, long> stored, bool exact)
    {
        var lost = Acknowledged.Where(a => !stored.TryGetValue(a.Key, out var seq) || seq != a.Value).Select(a => $"{a.Key}@{a.Value}").ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged events are missing or have another seq, e.g. {string.Join(", ", lost.Take(5))}");

        var seqs = stored.Values.Order().ToList();
        for (var i = 0; i < seqs.Count; i++)
        {
            Assert.True(seqs[i] == i, $"seq is not gap-free: position {i} holds seq {seqs[i]}");
        }

        if (exact)
        {
            Assert.Equal(Acknowledged.Count, stored.Count);
        }
    }
}

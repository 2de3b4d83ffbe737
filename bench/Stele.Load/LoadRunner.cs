using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Stele.Load;

/// <summary>
/// Drives a running Stele server over HTTP with concurrent clients. Every scenario runs for a
/// fixed time (or count) and stops by itself; only the given URL (loopback in practice) is used.
/// </summary>
internal sealed class LoadRunner(Uri baseAddress, string apiKey, TextWriter progress, TimeSpan probeInterval)
{
    private readonly ConcurrentBag<string> _eventIds = [];

    private HttpClient NewClient()
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    /// <summary>The ~400-byte event every ingest scenario sends (varied by client and counter).</summary>
    internal static string EventJson(int client, long n)
    {
        var action = n % 7 == 0 ? "document.deleted" : "document.viewed";
        return "{\"actor_id\":\"user_" + (n % 5000) + "\",\"actor_name\":\"Load Test User " + client + "\",\"actor_type\":\"user\",\"action\":\"" + action
            + "\",\"resource\":\"document\",\"resource_id\":\"doc_" + n + "\",\"resource_name\":\"Quarterly report " + (n % 100)
            + "\",\"tenant_id\":\"tenant_" + (n % 50) + "\",\"session_id\":\"ses_" + client + "_" + (n / 20)
            + "\",\"metadata\":{\"request_id\":\"req-" + client + "-" + n + "\",\"bytes\":" + (n % 100000) + ",\"path\":\"/api/documents/" + n + "\"}}";
    }

    /// <summary>Single-event ingest, with a visibility probe running beside it.</summary>
    public async Task<IReadOnlyList<ScenarioResult>> SingleIngestAsync(int clients, TimeSpan duration, CancellationToken cancellationToken)
    {
        var recorder = new LatencyRecorder();
        long events = 0;
        var stopwatch = Stopwatch.StartNew();
        using var http = NewClient();
        using var probeHttp = NewClient();
        var probe = new VisibilityProbe(probeHttp, probeInterval);
        var probing = probe.RunAsync(() => stopwatch.Elapsed < duration, cancellationToken);
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (long n = 0; stopwatch.Elapsed < duration && !cancellationToken.IsCancellationRequested; n++)
            {
                var start = Stopwatch.GetTimestamp();
                using var content = new StringContent(EventJson(c, n), Encoding.UTF8, "application/json");
                using var response = await http.PostAsync(new Uri("api/v1/events", UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    recorder.Record(start);
                    Interlocked.Increment(ref events);
                    if (n % 50 == 0)
                    {
                        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                        _eventIds.Add(JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!);
                    }
                }
                else
                {
                    recorder.Fail();
                }
            }
        }, cancellationToken)).ToList();
        await ReportWhileAsync(tasks, () => $"single ingest: {Interlocked.Read(ref events):N0} events", cancellationToken).ConfigureAwait(false);
        var elapsed = stopwatch.Elapsed;
        await probing.ConfigureAwait(false);
        return [Result("single-event ingest", clients, recorder, events, elapsed), .. ProbeResults(probe, "single-event ingest")];
    }

    private static IEnumerable<ScenarioResult> ProbeResults(VisibilityProbe probe, string during)
    {
        yield return Result($"visible in GET /events, during {during}", 1, probe.Query, 0, TimeSpan.FromSeconds(1));
        yield return Result($"checkpoint covers it, during {during}", 1, probe.Checkpoint, 0, TimeSpan.FromSeconds(1));
    }

    /// <summary>Batch ingest for a time, with a visibility probe running beside it.</summary>
    public async Task<IReadOnlyList<ScenarioResult>> BatchIngestAsync(int clients, int batchSize, TimeSpan duration, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        using var probeHttp = NewClient();
        var probe = new VisibilityProbe(probeHttp, probeInterval);
        var probing = probe.RunAsync(() => stopwatch.Elapsed < duration, cancellationToken);
        var result = await BatchesAsync($"batch ingest ({batchSize}/batch)", clients, batchSize, () => stopwatch.Elapsed < duration, cancellationToken).ConfigureAwait(false);
        await probing.ConfigureAwait(false);
        return [result, .. ProbeResults(probe, "batch ingest")];
    }

    /// <summary>Waits until the query indexes cover the whole default ledger (a server without them, or without the field, does not wait).</summary>
    public async Task<string> WaitForIndexesAsync(CancellationToken cancellationToken)
    {
        using var http = NewClient();
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var ledger = JsonDocument.Parse(await http.GetStringAsync(new Uri("api/v1/ledgers/default", UriKind.Relative), cancellationToken).ConfigureAwait(false)).RootElement;
            var size = ledger.GetProperty("size").GetInt64();
            if (!ledger.TryGetProperty("indexed_through_seq", out var reach))
            {
                return $"query indexes: maintained in the ingest transaction (ledger size {size:N0})";
            }

            if (reach.ValueKind == JsonValueKind.Number && reach.GetInt64() == size - 1)
            {
                return $"query indexes caught up with {size:N0} events {stopwatch.Elapsed.TotalSeconds:0.0} s after the scenario ended";
            }

            await progress.WriteLineAsync($"waiting for the query indexes: {(reach.ValueKind == JsonValueKind.Number ? reach.GetInt64() + 1 : 0):N0} of {size:N0} events").ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Batch-ingests until the ledger holds <paramref name="size"/> events (the server's peak RSS is read after it).</summary>
    public async Task<ScenarioResult> FillAsync(int clients, int batchSize, long size, CancellationToken cancellationToken)
    {
        using var http = NewClient();
        var ledger = JsonDocument.Parse(await http.GetStringAsync(new Uri("api/v1/ledgers/default", UriKind.Relative), cancellationToken).ConfigureAwait(false)).RootElement;
        // At least one batch, so the scenario always measures something.
        var missing = Math.Max(size - ledger.GetProperty("size").GetInt64(), batchSize);
        long issued = 0;
        return await BatchesAsync($"fill to {size:N0} events ({batchSize}/batch)", clients, batchSize, () => Interlocked.Add(ref issued, batchSize) <= missing, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ScenarioResult> BatchesAsync(string name, int clients, int batchSize, Func<bool> more, CancellationToken cancellationToken)
    {
        var recorder = new LatencyRecorder();
        long events = 0;
        var stopwatch = Stopwatch.StartNew();
        using var http = NewClient();
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var random = new Random(c);
            for (long b = 0; more() && !cancellationToken.IsCancellationRequested; b++)
            {
                var body = new StringBuilder("{\"events\":[");
                for (var i = 0; i < batchSize; i++)
                {
                    body.Append(i == 0 ? string.Empty : ",").Append(EventJson(c + 1000, (b * batchSize) + i));
                }

                body.Append("]}");
                var start = Stopwatch.GetTimestamp();
                using var content = new StringContent(body.ToString(), Encoding.UTF8, "application/json");
                using var response = await http.PostAsync(new Uri("api/v1/events/batch", UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    recorder.Record(start);
                    Interlocked.Add(ref events, batchSize);
                    if (b % 10 == 0)
                    {
                        // Proof targets from across the whole ledger, not only the newest events.
                        var data = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).RootElement.GetProperty("data");
                        _eventIds.Add(data[random.Next(data.GetArrayLength())].GetProperty("event").GetProperty("id").GetString()!);
                    }
                }
                else
                {
                    recorder.Fail();
                }
            }
        }, cancellationToken)).ToList();
        await ReportWhileAsync(tasks, () => $"{name}: {Interlocked.Read(ref events):N0} events", cancellationToken).ConfigureAwait(false);
        return Result(name, clients, recorder, events, stopwatch.Elapsed);
    }

    /// <summary>The first page of four filtered queries (actor, action pattern, action suffix with tenant, tenant with time range), overall and per kind.</summary>
    public async Task<IReadOnlyList<ScenarioResult>> QueryAsync(int clients, TimeSpan duration, CancellationToken cancellationToken)
    {
        (string Kind, string Path)[] queries =
        [
            ("actor", "api/v1/events?actor_id=user_42&limit=50"),
            ("action pattern", "api/v1/events?action=document.*&limit=50"),
            ("action suffix + tenant", "api/v1/events?action=*.deleted&tenant_id=tenant_7&limit=50"),
            ("tenant + time range", "api/v1/events?tenant_id=tenant_3&from=2000-01-01T00:00:00Z&limit=50"),
        ];
        var kinds = queries.Select(_ => new LatencyRecorder()).ToArray();
        var overall = await GetLoopAsync("filtered query, first page", clients, duration, (c, n) => queries[(c + n) % queries.Length].Path, cancellationToken,
            (c, n, start) => kinds[(c + n) % queries.Length].Record(start)).ConfigureAwait(false);
        return [overall, .. queries.Select((q, i) => Result($"  query: {q.Kind}", clients, kinds[i], 0, overall.Elapsed))];
    }

    public Task<ScenarioResult> ProofAsync(int clients, TimeSpan duration, CancellationToken cancellationToken)
    {
        var ids = _eventIds.ToArray();
        if (ids.Length == 0)
        {
            throw new InvalidOperationException("Run an ingest scenario first: proofs need event ids.");
        }

        return GetLoopAsync("inclusion proof", clients, duration, (c, n) => $"api/v1/events/{ids[(int)((c * 7919L + n) % ids.Length)]}/proof", cancellationToken);
    }

    /// <summary>GET /healthz, which does no work: what HTTP alone costs on this machine, the bound of every other scenario.</summary>
    public Task<ScenarioResult> HealthAsync(int clients, TimeSpan duration, CancellationToken cancellationToken) =>
        GetLoopAsync("GET /healthz (HTTP alone)", clients, duration, (_, _) => "healthz", cancellationToken);

    /// <summary>Verifies the whole ledger three times in a row: events/s over all three, p50 the median run.</summary>
    public async Task<ScenarioResult> VerifyAsync(TextWriter progress, CancellationToken cancellationToken)
    {
        const int Runs = 3;
        using var http = NewClient();
        http.Timeout = TimeSpan.FromHours(1);
        var recorder = new LatencyRecorder();
        long events = 0;
        var stopwatch = Stopwatch.StartNew();
        for (var run = 0; run < Runs; run++)
        {
            var start = Stopwatch.GetTimestamp();
            var body = await http.GetStringAsync(new Uri("api/v1/verify", UriKind.Relative), cancellationToken).ConfigureAwait(false);
            var report = JsonDocument.Parse(body).RootElement;
            if (report.GetProperty("valid").GetBoolean())
            {
                recorder.Record(start);
            }
            else
            {
                recorder.Fail();
            }

            events += report.GetProperty("events_checked").GetInt64();
            await progress.WriteLineAsync($"GET /verify: run {run + 1} of {Runs}, {Stopwatch.GetElapsedTime(start).TotalSeconds:0.00} s").ConfigureAwait(false);
        }

        return Result($"GET /verify (whole ledger, {Runs} runs)", 1, recorder, events, stopwatch.Elapsed);
    }

    private async Task<ScenarioResult> GetLoopAsync(
        string name, int clients, TimeSpan duration, Func<int, long, string> path, CancellationToken cancellationToken, Action<int, long, long>? also = null)
    {
        var recorder = new LatencyRecorder();
        var stopwatch = Stopwatch.StartNew();
        using var http = NewClient();
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (long n = 0; stopwatch.Elapsed < duration && !cancellationToken.IsCancellationRequested; n++)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(new Uri(path(c, n), UriKind.Relative), HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    recorder.Record(start);
                    also?.Invoke(c, n, start);
                }
                else
                {
                    recorder.Fail();
                }
            }
        }, cancellationToken)).ToList();
        await ReportWhileAsync(tasks, () => $"{name}: {recorder.Count:N0} requests", cancellationToken).ConfigureAwait(false);
        return Result(name, clients, recorder, 0, stopwatch.Elapsed);
    }

    private async Task ReportWhileAsync(List<Task> tasks, Func<string> status, CancellationToken cancellationToken)
    {
        var all = Task.WhenAll(tasks);
        while (await Task.WhenAny(all, Task.Delay(1000, cancellationToken)).ConfigureAwait(false) != all)
        {
            await progress.WriteLineAsync(status()).ConfigureAwait(false);
        }

        await all.ConfigureAwait(false);
    }

    private static ScenarioResult Result(string name, int clients, LatencyRecorder recorder, long events, TimeSpan elapsed)
    {
        var (p50, p99, p999, max) = recorder.Percentiles();
        return new ScenarioResult(name, clients, recorder.Count, events, recorder.Failures, elapsed, p50, p99, p999, max);
    }
}

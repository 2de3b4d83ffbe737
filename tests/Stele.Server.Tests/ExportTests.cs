using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsvHelper;
using Stele.Server.Exports;
using Stele.Storage;
using Stele.Storage.Sqlite;

namespace Stele.Server.Tests;

public sealed class ExportTests : IAsyncLifetime
{
    private static readonly string[] Dangerous = ["=cmd|' /C calc'!A0", "+1+2", "-3", "@SUM(A1)", "\tTAB", "\rCR"];

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync(new Dictionary<string, string?> { ["ExportMonthlyQuota"] = "20" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private async Task IngestVariedAsync(int count)
    {
        var events = new List<object>();
        for (var i = 0; i < count; i++)
        {
            events.Add(new Dictionary<string, object?>
            {
                ["actor_id"] = $"user_{i % 7}",
                ["actor_name"] = i < Dangerous.Length ? Dangerous[i] : $"Name, \"quoted\"\nline {i} ü",
                ["action"] = i % 3 == 0 ? "document.deleted" : i % 3 == 1 ? "document.created" : "user.login",
                ["resource"] = i % 2 == 0 ? "document" : "folder",
                ["resource_id"] = $"doc_{i % 5}",
                ["resource_name"] = i < Dangerous.Length ? Dangerous[(i + 1) % Dangerous.Length] : null,
                ["tenant_id"] = i % 4 == 0 ? "acme" : "globex",
                ["session_id"] = $"ses_{i % 3}",
                ["outcome"] = i % 5 == 0 ? "failure" : "success",
                ["metadata"] = new Dictionary<string, object> { ["n"] = i, ["note"] = i % 2 == 0 ? "=1+1" : "plain, text" },
                ["targets"] = new[] { new { type = "folder", id = $"f_{i % 2}", name = "Reports" } },
                ["occurred_at"] = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(i).ToString("O", CultureInfo.InvariantCulture),
            });
        }

        using var response = await _server.Admin.PostAsJsonAsync("api/v1/events/batch", new { events });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        Assert.Equal(count, JsonDocument.Parse(text).RootElement.GetProperty("summary").GetProperty("created").GetInt32());
    }

    private async Task<List<JsonNode>> ListAllAsync(string query)
    {
        await _server.WaitForIndexesAsync();
        var result = new List<JsonNode>();
        string? cursor = null;
        do
        {
            var url = $"api/v1/events?limit=7{(query.Length > 0 ? "&" + query : string.Empty)}{(cursor is null ? string.Empty : "&cursor=" + Uri.EscapeDataString(cursor))}";
            var page = JsonNode.Parse(await _server.Admin.GetStringAsync(url))!;
            result.AddRange(page["data"]!.AsArray().Select(e => e!.DeepClone()));
            cursor = page["pagination"]!["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        return result;
    }

    [Theory]
    [InlineData("")]
    [InlineData("action=document.*")]
    [InlineData("actor_id=user_3&outcome=success")]
    [InlineData("resource=document&resource_id=doc_2")]
    [InlineData("target_type=folder&target_id=f_1&tenant_id=acme")]
    [InlineData("session_id=ses_1&from=2026-11-01T00:10:00Z&to=2026-11-01T00:40:00Z")]
    [InlineData("search=quoted&action=*.login")]
    [InlineData("actor_id=nobody")]
    public async Task An_export_holds_exactly_the_events_GET_events_returns(string query)
    {
        await IngestVariedAsync(60);
        var expected = await ListAllAsync(query);
        var filters = query.Length == 0
            ? new Dictionary<string, string>()
            : query.Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var body = JsonSerializer.Serialize(new Dictionary<string, object>(filters.Select(kv => new KeyValuePair<string, object>(kv.Key, kv.Value))) { ["format"] = "jsonl", ["gzip"] = true });

        var bytes = await ExportClient.ExportAsync(_server.Admin, "api/v1/", body);
        using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        var lines = new StreamReader(gzip, Encoding.UTF8).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(expected.Count, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            Assert.True(JsonNode.DeepEquals(expected[i], JsonNode.Parse(lines[i])), $"line {i}: {lines[i]}\nexpected {expected[i].ToJsonString()}");
        }
    }

    [Fact]
    public async Task A_CSV_export_reads_back_with_CsvHelper_as_the_events_with_formulas_neutralised()
    {
        await IngestVariedAsync(40);
        var expected = await ListAllAsync(string.Empty);
        var bytes = await ExportClient.ExportAsync(_server.Admin, "api/v1/", """{"format":"csv"}""");
        Assert.False(bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble), "no byte-order mark");

        var options = new CsvReaderOptions
        {
            Separator = ',',
            TrimWhitespace = false,
            MalformedData = CsvMalformedDataHandling.Throw,
            FieldCountMismatch = CsvFieldCountHandling.Throw,
            DetectSeparatorHint = false,
        };
        using var csv = CsvReader.Create(bytes, options);
        Assert.Equal(CsvEventWriter.Columns, csv.Headers);
        var row = 0;
        var neutralised = 0;
        while (csv.Read())
        {
            var e = JsonDocument.Parse(expected[row].ToJsonString(Relaxed)).RootElement;
            foreach (var column in CsvEventWriter.Columns)
            {
                var original = CsvEventWriter.CellText(e.GetProperty(column));
                var cell = csv.GetString(column);
                if (original.Length > 0 && original[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
                {
                    Assert.Equal("'" + original, cell);
                    neutralised++;
                }
                else
                {
                    Assert.Equal(original, cell);
                }
            }

            row++;
        }

        Assert.Equal(expected.Count, row);

        // actor_name and resource_name hold every dangerous prefix once each (12 cells).
        Assert.True(neutralised >= 2 * Dangerous.Length, $"{neutralised} cells neutralised");
        var text = Encoding.UTF8.GetString(bytes);
        foreach (var danger in Dangerous)
        {
            Assert.DoesNotContain("," + danger, text, StringComparison.Ordinal);
            Assert.DoesNotContain(",\"" + danger, text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("""{"format":"csv","colour":"red"}""", "colour")]
    [InlineData("""{"format":"xml"}""", "format")]
    [InlineData("""{"actor_id":"u"}""", "format")]
    [InlineData("""{"format":"csv","include_proofs":true}""", "include_proofs")]
    [InlineData("""{"format":"jsonl","gzip":"yes"}""", "gzip")]
    [InlineData("""{"format":"jsonl","outcome":"maybe"}""", "outcome")]
    [InlineData("""{"format":"jsonl","from":"yesterday"}""", "from")]
    [InlineData("""{"format":"jsonl","action":"a b"}""", "action")]
    [InlineData("""{"format":"jsonl","limit":"5"}""", "limit")]
    public async Task A_bad_export_request_is_rejected_and_creates_nothing(string body, string field)
    {
        using var response = await _server.Admin.PostAsync("api/v1/exports", TestServer.Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("validation_failed", problem.GetProperty("error").GetString());
        Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetProperty("field").GetString() == field);

        var store = _server.Host.Services.GetService(typeof(ISteleStore)) as ISteleStore;
        Assert.Empty(await store!.ListUnfinishedExportsAsync(CancellationToken.None));
        Assert.Equal(0, await store.CountExportsSinceAsync(1, DateTimeOffset.UnixEpoch, CancellationToken.None));
    }

    [Fact]
    public async Task Exports_need_read_permission_and_stay_inside_their_ledger()
    {
        await _server.CreateLedgerAsync("other");
        var ingestOnly = _server.Client(await _server.CreateKeyAsync(null, "ingest"));
        using (var denied = await ingestOnly.PostAsync("api/v1/exports", TestServer.Json("""{"format":"csv"}""")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        }

        var id = await ExportClient.CreateAsync(_server.Admin, "api/v1/ledgers/other/", """{"format":"csv"}""");
        await ExportClient.WaitAsync(_server.Admin, "api/v1/ledgers/other/", id);
        using var elsewhere = await _server.Admin.GetAsync($"api/v1/exports/{id}");
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        var otherReader = _server.Client(await _server.CreateKeyAsync("default", "read"));
        using var scoped = await otherReader.GetAsync($"api/v1/exports/{id}/download");
        Assert.Equal(HttpStatusCode.NotFound, scoped.StatusCode);
    }

    [Fact]
    public async Task Creating_and_downloading_an_export_are_recorded_in_the_system_ledger()
    {
        await IngestVariedAsync(3);
        var id = await ExportClient.CreateAsync(_server.Admin, "api/v1/", """{"format":"jsonl","tenant_id":"acme"}""");
        await ExportClient.WaitAsync(_server.Admin, "api/v1/", id);
        _ = await _server.Admin.GetByteArrayAsync($"api/v1/exports/{id}/download");

        await _server.WaitForIndexesAsync("_system");
        var system = JsonNode.Parse(await _server.Admin.GetStringAsync($"api/v1/ledgers/_system/events?resource_id={id}"))!["data"]!.AsArray();
        var actions = system.Select(e => e!["action"]!.GetValue<string>()).ToList();
        Assert.Equal(["export.downloaded", "export.created"], actions);
        Assert.Equal("acme", system[1]!["metadata"]!["filters"]!["tenant_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_monthly_quota_answers_429_quota_exceeded_with_Retry_After_even_under_concurrent_requests()
    {
        var attempts = await Task.WhenAll(Enumerable.Range(0, 30).Select(async _ =>
        {
            using var r = await _server.Admin.PostAsync("api/v1/exports", TestServer.Json("""{"format":"csv"}"""));
            return r.StatusCode;
        }));
        Assert.Equal(20, attempts.Count(s => s == HttpStatusCode.Accepted));
        Assert.Equal(10, attempts.Count(s => s == (HttpStatusCode)429));

        using var response = await _server.Admin.PostAsync("api/v1/exports", TestServer.Json("""{"format":"csv"}"""));
        Assert.Equal((HttpStatusCode)429, response.StatusCode);
        Assert.Equal("quota_exceeded", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero);
    }

    [Fact]
    public async Task A_job_left_running_by_a_dead_process_is_run_again_and_state_survives_a_restart()
    {
        await IngestVariedAsync(10);
        var ledger = JsonNode.Parse(await _server.Admin.GetStringAsync("api/v1/ledgers/default"))!;
        Assert.NotNull(ledger);

        // A row as a process that died mid-export leaves it: running, half done, no file.
        await using (var other = new SqliteSteleStore(_server.DatabasePath))
        {
            await other.InitializeAsync(CancellationToken.None);
            var defaultLedger = await other.FindLedgerAsync("default", CancellationToken.None);
            Assert.True(await other.TryAddExportAsync(new ExportJob
            {
                Id = "exp_orphan",
                LedgerId = defaultLedger!.Id,
                Request = """{"format":"jsonl","gzip":false,"include_proofs":false}""",
                CreatedBy = "key_dead",
                CreatedAt = DateTimeOffset.UtcNow,
                State = ExportJob.Running,
                RowsDone = 5,
                StartedAt = DateTimeOffset.UtcNow,
            }, DateTimeOffset.UnixEpoch, long.MaxValue, CancellationToken.None));
        }

        var status = await ExportClient.WaitAsync(_server.Admin, "api/v1/", "exp_orphan");
        Assert.Equal(10, status.GetProperty("rows_done").GetInt64());
        Assert.Equal(10, status.GetProperty("rows_total").GetInt64());

        await _server.RestartAsync();
        var after = JsonDocument.Parse(await _server.Admin.GetStringAsync("api/v1/exports/exp_orphan")).RootElement;
        Assert.Equal("succeeded", after.GetProperty("state").GetString());
        var lines = Encoding.UTF8.GetString(await _server.Admin.GetByteArrayAsync("api/v1/exports/exp_orphan/download")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, lines.Length);
    }

    [Fact]
    public async Task A_job_another_node_holds_is_left_alone_until_its_lease_ends_then_taken_over()
    {
        await IngestVariedAsync(4);
        var leaseEnds = DateTimeOffset.UtcNow.AddSeconds(3);
        await using (var other = new SqliteSteleStore(_server.DatabasePath))
        {
            await other.InitializeAsync(CancellationToken.None);
            var defaultLedger = await other.FindLedgerAsync("default", CancellationToken.None);
            Assert.True(await other.TryAddExportAsync(new ExportJob
            {
                Id = "exp_held",
                LedgerId = defaultLedger!.Id,
                Request = """{"format":"jsonl","gzip":false,"include_proofs":false}""",
                CreatedBy = "key_other",
                CreatedAt = DateTimeOffset.UtcNow,
                State = ExportJob.Running,
                RowsDone = 2,
                StartedAt = DateTimeOffset.UtcNow,
                Worker = "node-b:1:abc",
                LeaseUntil = leaseEnds,
            }, DateTimeOffset.UnixEpoch, long.MaxValue, CancellationToken.None));
        }

        // While node b's lease lasts, this node does not touch the job.
        await Task.Delay(1500);
        var store = (ISteleStore)_server.Host.Services.GetService(typeof(ISteleStore))!;
        var held = await store.GetExportAsync("exp_held", CancellationToken.None);
        Assert.Equal(("node-b:1:abc", 2L, ExportJob.Running), (held!.Worker, held.RowsDone, held.State));

        // Node b never renews (it died): once the lease ends, this node takes the job over and finishes it.
        var status = await ExportClient.WaitAsync(_server.Admin, "api/v1/", "exp_held");
        Assert.Equal(4, status.GetProperty("rows_done").GetInt64());
        var done = await store.GetExportAsync("exp_held", CancellationToken.None);
        Assert.True(done!.StartedAt >= leaseEnds, $"taken over at {done.StartedAt:O}, before the lease ended at {leaseEnds:O}");
        Assert.Equal(_server.Host.Services.GetService(typeof(ExportService)) is ExportService service ? service.WorkerId : null, done.Worker);
    }

    [Fact]
    public async Task Exports_beyond_the_per_ledger_limit_wait_queued_and_a_proof_export_waits_for_a_checkpoint()
    {
        await _server.DisposeAsync();
        _server = await TestServer.StartAsync(new Dictionary<string, string?>
        {
            ["ExportConcurrencyPerLedger"] = "1",
            ["CheckpointInterval"] = "00:10:00",
        });

        // The checkpointer signs the ledger's first checkpoint on its first pass, then none for ten
        // minutes. Once that first one exists, an event stays uncovered and the proof export keeps running.
        await _server.WaitForCheckpointAsync(_server.Admin, "api/v1/", 0);
        await IngestVariedAsync(1);

        var proofs = await ExportClient.CreateAsync(_server.Admin, "api/v1/", """{"format":"jsonl","include_proofs":true}""");
        var csv = await ExportClient.CreateAsync(_server.Admin, "api/v1/", """{"format":"csv"}""");
        await Task.Delay(1500);

        var first = JsonDocument.Parse(await _server.Admin.GetStringAsync($"api/v1/exports/{proofs}")).RootElement;
        var second = JsonDocument.Parse(await _server.Admin.GetStringAsync($"api/v1/exports/{csv}")).RootElement;
        Assert.Equal("running", first.GetProperty("state").GetString());
        Assert.Equal("queued", second.GetProperty("state").GetString());
        using var early = await _server.Admin.GetAsync($"api/v1/exports/{proofs}/download");
        Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), early.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task An_expired_export_is_no_longer_downloadable()
    {
        await _server.DisposeAsync();
        _server = await TestServer.StartAsync(new Dictionary<string, string?> { ["ExportRetention"] = "00:00:01" });
        await IngestVariedAsync(2);
        var id = await ExportClient.CreateAsync(_server.Admin, "api/v1/", """{"format":"csv"}""");
        await ExportClient.WaitAsync(_server.Admin, "api/v1/", id);
        using (var fresh = await _server.Admin.GetAsync($"api/v1/exports/{id}/download"))
        {
            Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        }

        await Task.Delay(1200);
        using var expired = await _server.Admin.GetAsync($"api/v1/exports/{id}/download");
        Assert.Equal(HttpStatusCode.NotFound, expired.StatusCode);
    }
}

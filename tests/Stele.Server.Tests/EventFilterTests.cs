using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Stele.Server.Tests;

/// <summary>Every filter of GET /events, alone and combined, plus cursors and their limits.</summary>
public sealed class EventFilterTests(EventFilterTests.Fixture fixture) : IClassFixture<EventFilterTests.Fixture>
{
    private const string Path = "api/v1/ledgers/filters/events";
    private readonly TestServer _server = fixture.Server;

    /// <summary>Ten events in ledger <c>filters</c>, written in one batch so that seq is the index below.</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public static readonly DateTimeOffset T0 = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

        public TestServer Server { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            Server = await TestServer.StartAsync();
            await Server.CreateLedgerAsync("filters");
            await Server.CreateLedgerAsync("busy");
            object[] events =
            [
                Event(0, "a1", "document.created", "document", "d1", "t1", "s1", "success", [new { type = "folder", id = "f1" }], new { note = "Quarterly Report" }, actorName: "Ada Lovelace"),
                Event(1, "a1", "document.deleted", "document", "d1", "t1", "s1", "failure", [new { type = "user", id = "u9", name = "Grace" }], new { note = "xzqx" }),
                Event(2, "a2", "document.updated", "document", "d2", "t2", "s2", "success", [new { type = "folder", id = "f2" }], new { text = "100% done" }),
                Event(3, "a2", "user.deleted", "user", "u1", "t2", "s2", "failure", [], new { text = "under_score" }),
                Event(4, "a3", "doc.started", "doc", "d3", "t1", "s3", "success", [new { type = "folder", id = "f1" }], new { text = "it's" }),
                Event(5, "a3", "folder.deleted", "folder", "f1", "t3", null, "success", [], new { text = "say \"hi\"" }),
                Event(6, "a4", "documents.archived", "document", "d4", "t3", null, "success", [], new { text = "star*light" }),
                Event(7, "a4", "deleted.report", "report", "r1", "t3", null, "success", [], new { text = "[bracket]" }),
                Event(8, "a5", "document.created", "document", "d5", "t1", null, "success", [], new { text = "100X doneXunderXscore itXs sayXhiX starXlight Xbracket" }),
                Event(9, "a5", "xdocument.deleted", "xdoc", "d6", "t4", null, "success", [], new { text = "plain" }),
            ];
            using var response = await Server.Admin.PostAsJsonAsync(Path + "/batch", new { events });
            var result = await Api.JsonAsync(response);
            Assert.Equal(10, result.GetProperty("summary").GetProperty("created").GetInt32());
            await Server.WaitForIndexesAsync("filters");
        }

        public async Task DisposeAsync() => await Server.DisposeAsync();

        private static Dictionary<string, object?> Event(
            int minute, string actor, string action, string resource, string resourceId, string tenant, string? session, string outcome,
            object[] targets, object metadata, string? actorName = null) => new()
            {
                ["actor_id"] = actor,
                ["actor_name"] = actorName,
                ["action"] = action,
                ["resource"] = resource,
                ["resource_id"] = resourceId,
                ["tenant_id"] = tenant,
                ["session_id"] = session,
                ["outcome"] = outcome,
                ["targets"] = targets,
                ["metadata"] = metadata,
                ["occurred_at"] = At(minute),
            };
    }

    public static string At(int minute) => Fixture.T0.AddMinutes(minute).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static TheoryData<string, int[]> SingleFilters => new()
    {
        { "action=document.created", [0, 8] },
        { "action=document.*", [0, 1, 2, 8] },
        { "action=*.deleted", [1, 3, 5, 9] },
        { "action=doc*ted", [0, 1, 2, 4, 8] },
        { "action=*deleted*", [1, 3, 5, 7, 9] },
        { "action=*", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
        { "action=document.nothing", [] },
        { "action=DOCUMENT.CREATED", [] },
        { "actor_id=a1", [0, 1] },
        { "actor_id=a", [] },
        { "resource=document", [0, 1, 2, 6, 8] },
        { "resource_id=d1", [0, 1] },
        { "target_type=folder", [0, 2, 4] },
        { "target_id=f1", [0, 4] },
        { "target_type=user&target_id=u9", [1] },
        { "target_type=folder&target_id=u9", [] },
        { "tenant_id=t1", [0, 1, 4, 8] },
        { "session_id=s2", [2, 3] },
        { "ip_country=US", [] },
        { "ip_country=ZZ", [] },
        { "outcome=failure", [1, 3] },
        { "outcome=success", [0, 2, 4, 5, 6, 7, 8, 9] },
        { "from=" + At(2), [2, 3, 4, 5, 6, 7, 8, 9] },
        { "to=" + At(2), [0, 1] },
        { "from=" + At(2) + "&to=" + At(4), [2, 3] },
        { "from=2025-06-01T14:02:00%2B02:00", [2, 3, 4, 5, 6, 7, 8, 9] },
        { "to=2025-06-01T12:01:00.000001Z", [0, 1] },
        { "from=" + At(100), [] },
        { "search=ada", [0] },
        { "search=QUARTERLY", [0] },
        { "search=DOCUMENT.DEL", [1, 9] },
        { "search=grace", [1] },
        { "search=zq", [1] },
        { "search=ZQ", [1] },
        { "search=z", [1] },
        { "search=%25", [2] },
        { "search=0%25", [2] },
        { "search=0%25 d", [2] },
        { "search=_", [3] },
        { "search=r_s", [3] },
        { "search='", [4] },
        { "search=it'", [4] },
        { "search=%22", [5] },
        { "search=%22hi", [5] },
        { "search=*", [6] },
        { "search=r*l", [6] },
        { "search=[", [7] },
        { "search=[br", [7] },
        { "search=]", [7] },
        { "search=nothing-matches", [] },
    };

    public static TheoryData<string, int[]> CombinedFilters => new()
    {
        { "actor_id=a1&outcome=failure", [1] },
        { "action=document.*&tenant_id=t1", [0, 1, 8] },
        { "resource=document&from=" + At(1) + "&to=" + At(6), [1, 2] },
        { "action=*.deleted&search=xdoc", [9] },
        { "target_type=folder&tenant_id=t1&session_id=s1", [0] },
        { "action=doc*ted&outcome=success&resource=document", [0, 2, 8] },
        { "tenant_id=t2&ip_country=US", [] },
        { "actor_id=a2&resource_id=u1&session_id=s2&outcome=failure&action=user.deleted&target_type=folder", [] },
        { "search=done&action=document.*", [2, 8] },
    };

    [Theory]
    [MemberData(nameof(SingleFilters))]
    public async Task Each_filter_alone_returns_exactly_the_matching_events_newest_first(string query, int[] expected) =>
        await AssertQueryAsync(query, expected);

    [Theory]
    [MemberData(nameof(CombinedFilters))]
    public async Task Filters_combine_as_a_conjunction(string query, int[] expected) =>
        await AssertQueryAsync(query, expected);

    [Fact]
    public async Task Limit_pages_through_everything_once_and_its_bounds_are_enforced()
    {
        var seen = new List<long>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Api.GetJsonAsync(_server.Admin, $"{Path}?limit=3" + (cursor is null ? string.Empty : $"&cursor={cursor}"));
            var data = Api.Data(page);
            Assert.InRange(data.Count, 1, 3);
            seen.AddRange(data.Select(e => e.GetProperty("seq").GetInt64()));
            var pagination = page.GetProperty("pagination");
            cursor = pagination.GetProperty("has_more").GetBoolean() ? pagination.GetProperty("next_cursor").GetString() : null;
            if (cursor is null)
            {
                Assert.Equal(JsonValueKind.Null, pagination.GetProperty("next_cursor").ValueKind);
            }

            pages++;
        }
        while (cursor is not null);

        Assert.Equal(4, pages);
        Assert.Equal(Enumerable.Range(0, 10).Reverse().Select(i => (long)i), seen);

        Assert.Equal(10, Api.Data(await Api.GetJsonAsync(_server.Admin, $"{Path}?limit=1000")).Count);
        Assert.Single(Api.Data(await Api.GetJsonAsync(_server.Admin, $"{Path}?limit=1")));
        foreach (var bad in new[] { "0", "-1", "1001", "abc", "1.5", "%2B5", "99999999999999999999999", " 5" })
        {
            await Api.AssertProblemAsync(_server.Admin.GetAsync($"{Path}?limit={bad}"), HttpStatusCode.BadRequest, "validation_failed");
        }
    }

    [Fact]
    public async Task A_cursor_keeps_its_filters_meaning_across_pages()
    {
        var first = await Api.GetJsonAsync(_server.Admin, $"{Path}?action=document.*&limit=2");
        Assert.Equal([8L, 2L], Api.Data(first).Select(e => e.GetProperty("seq").GetInt64()));
        var cursor = first.GetProperty("pagination").GetProperty("next_cursor").GetString();
        var second = await Api.GetJsonAsync(_server.Admin, $"{Path}?action=document.*&limit=2&cursor={cursor}");
        Assert.Equal([1L, 0L], Api.Data(second).Select(e => e.GetProperty("seq").GetInt64()));
        Assert.False(second.GetProperty("pagination").GetProperty("has_more").GetBoolean());
    }

    [Theory]
    [InlineData("colour=red")]
    [InlineData("Action=document.created")]
    [InlineData("actor=a1")]
    [InlineData("page=2")]
    [InlineData("action=a.b&action=c.d")]
    [InlineData("cursor=garbage!!")]
    [InlineData("cursor=djI6NQ")]
    [InlineData("cursor=djE6LTE")]
    [InlineData("cursor=djE6")]
    [InlineData("cursor=djE6OTk5OTk5OTk5OTk5OTk5OTk5OTk5")]
    [InlineData("cursor=%00")]
    [InlineData("action=doc%3F")]
    [InlineData("action=doc[a]")]
    [InlineData("action=doc ted")]
    [InlineData("outcome=ok")]
    [InlineData("outcome=FAILURE")]
    [InlineData("from=2025-06-01")]
    [InlineData("from=yesterday")]
    [InlineData("to=2025-06-01T12:00:00")]
    [InlineData("to=2025-06-01T25:00:00Z")]
    [InlineData("actor_id=a%001")]
    public async Task A_bad_query_is_a_validation_error(string query)
    {
        var problem = await Api.AssertProblemAsync(_server.Admin.GetAsync($"{Path}?{query}"), HttpStatusCode.BadRequest, "validation_failed");
        Assert.NotEmpty(problem.GetProperty("errors").EnumerateArray());
    }

    [Fact]
    public async Task Search_terms_longer_than_200_characters_are_rejected()
    {
        await Api.AssertProblemAsync(_server.Admin.GetAsync($"{Path}?search={new string('a', 201)}"), HttpStatusCode.BadRequest, "validation_failed");
        Assert.Empty(Api.Data(await Api.GetJsonAsync(_server.Admin, $"{Path}?search={new string('a', 200)}")));
    }

    [Fact]
    public async Task Paging_while_inserts_continue_sees_every_existing_event_once_in_seq_order()
    {
        const string busy = "api/v1/ledgers/busy/events";
        var initial = Enumerable.Range(0, 60).Select(i => new { actor_id = $"seed{i}", action = "seed.created" }).ToArray();
        using (var seeded = await _server.Admin.PostAsJsonAsync(busy + "/batch", new { events = initial }))
        {
            Assert.Equal(HttpStatusCode.OK, seeded.StatusCode);
        }

        var writer = _server.Client(await _server.CreateKeyAsync("busy", "ingest"));
        using var stop = new CancellationTokenSource();
        var written = 0;
        var ingest = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var r = await writer.PostAsJsonAsync(busy, new { actor_id = "live", action = "live.created" }, CancellationToken.None);
                Assert.Equal(HttpStatusCode.Created, r.StatusCode);
                Interlocked.Increment(ref written);
            }
        });

        var seen = new List<long>();
        string? cursor = null;
        try
        {
            do
            {
                var page = await Api.GetJsonAsync(_server.Admin, $"{busy}?limit=7" + (cursor is null ? string.Empty : $"&cursor={cursor}"));
                var data = Api.Data(page);
                Assert.InRange(data.Count, 1, 7);
                seen.AddRange(data.Select(e => e.GetProperty("seq").GetInt64()));
                var pagination = page.GetProperty("pagination");
                cursor = pagination.GetProperty("has_more").GetBoolean() ? pagination.GetProperty("next_cursor").GetString() : null;

                // Give the writer room to land events between pages.
                await Task.Delay(5);
            }
            while (cursor is not null);
        }
        finally
        {
            await stop.CancelAsync();
            await ingest;
            writer.Dispose();
        }

        Assert.True(written > 0, "the writer should have ingested while paging");
        Assert.Equal(seen.Count, seen.Distinct().Count());
        for (var i = 1; i < seen.Count; i++)
        {
            Assert.True(seen[i] < seen[i - 1], $"seq {seen[i]} follows {seen[i - 1]}: not strictly newest-first");
        }

        Assert.Superset(Enumerable.Range(0, 60).Select(i => (long)i).ToHashSet(), seen.ToHashSet());
        Assert.Equal(0, seen[^1]);
    }

    private async Task AssertQueryAsync(string query, int[] expected)
    {
        var page = await Api.GetJsonAsync(_server.Admin, $"{Path}?{query}");
        var seqs = Api.Data(page).Select(e => e.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal(expected.OrderDescending().Select(i => (long)i), seqs);
        Assert.False(page.GetProperty("pagination").GetProperty("has_more").GetBoolean());
    }
}

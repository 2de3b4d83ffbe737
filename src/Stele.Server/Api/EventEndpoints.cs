using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stele.Server.Auth;
using Stele.Server.Ingestion;
using Stele.Storage;

namespace Stele.Server.Api;

/// <summary>Ingest and read routes: <c>/events</c>, <c>/events/batch</c>, <c>/events/{id}</c>, <c>/sessions/{id}</c>.</summary>
internal static class EventEndpoints
{
    private static readonly string[] ListParameters =
    [
        "action", "actor_id", "resource", "resource_id", "target_type", "target_id", "tenant_id", "session_id",
        "ip_country", "outcome", "from", "to", "search", "cursor", "limit",
    ];

    public static void Map(RouteGroupBuilder group, string nameSuffix)
    {
        group.MapPost("/events", IngestOneAsync).WithName("IngestEvent" + nameSuffix);
        group.MapPost("/events/batch", IngestBatchAsync).WithName("IngestBatch" + nameSuffix);
        group.MapGet("/events", ListAsync).WithName("ListEvents" + nameSuffix);
        group.MapGet("/events/{id}", GetAsync).WithName("GetEvent" + nameSuffix);
        group.MapGet("/sessions/{session_id}", SessionAsync).WithName("GetSession" + nameSuffix);
    }

    private static async Task<IResult> IngestOneAsync(HttpContext context, LedgerAccess access, SequencerRegistry sequencers, EventValidator validator, ClientAddressResolver addresses)
    {
        var (caller, ledger) = await access.ResolveAsync(context, Permission.Ingest).ConfigureAwait(false);
        // Read up to the request limit, so that an event over the event limit is a validation error
        // (400) that names the limit, as it is inside a batch; only a body over 5 MiB is a 413.
        // The answer is written from the parsed event (its metadata included) after this method returns.
        var body = await RequestBody.ReadJsonAsync(context.Request, IngestLimits.MaxBatchBytes).ConfigureAwait(false);
        context.Response.RegisterForDispose(body);
        var parsed = validator.Validate(body.RootElement, string.Empty, Origin(context, caller, addresses), out var problem) ?? throw problem!;

        // The Idempotency-Key header is the same as the body field, for clients that prefer headers.
        var header = context.Request.Headers["Idempotency-Key"].ToString();
        if (header.Length > 0 && parsed.IdempotencyKey is null)
        {
            if (header.Length > IngestLimits.MaxIdLength || header.Any(char.IsControl))
            {
                throw ApiException.Validation("The Idempotency-Key header is not valid.", [new("Idempotency-Key", $"must be 1-{IngestLimits.MaxIdLength} printable characters")]);
            }

            parsed = parsed with { IdempotencyKey = header };
        }

        var sequencer = await sequencers.GetAsync(ledger).ConfigureAwait(false);
        var outcome = (await sequencer.AppendAsync([parsed], context.RequestAborted).ConfigureAwait(false))[0];
        return new JsonResponse(outcome.Duplicate ? 200 : 201, w => EventJson.Write(w, ledger.Name, outcome));
    }

    private static async Task<IResult> IngestBatchAsync(HttpContext context, LedgerAccess access, SequencerRegistry sequencers, EventValidator validator, ClientAddressResolver addresses)
    {
        var (caller, ledger) = await access.ResolveAsync(context, Permission.Ingest).ConfigureAwait(false);
        var body = await RequestBody.ReadJsonAsync(context.Request, IngestLimits.MaxBatchBytes).ConfigureAwait(false);
        context.Response.RegisterForDispose(body);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.Validation("The body must be a JSON object: {\"events\": [...]}.");
        }

        foreach (var property in root.EnumerateObject())
        {
            if (EventValidator.ReadName(property) != "events")
            {
                throw ApiException.Validation("The body may hold only 'events'.", [new(EventValidator.EchoName(property), "is not a known field")]);
            }
        }

        if (!root.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.Validation("The body must hold an 'events' array.", [new("events", "is required and must be an array")]);
        }

        var count = events.GetArrayLength();
        if (count == 0 || count > IngestLimits.MaxBatchEvents)
        {
            throw ApiException.Validation($"A batch holds 1 to {IngestLimits.MaxBatchEvents} events; this one has {count}.", [new("events", $"must hold 1 to {IngestLimits.MaxBatchEvents} events")]);
        }

        // Validate each event on its own: one bad event does not block the others.
        var origin = Origin(context, caller, addresses);
        var results = new (ParsedEvent? Parsed, ApiException? Problem)[count];
        var valid = new List<ParsedEvent>(count);
        var index = 0;
        foreach (var item in events.EnumerateArray())
        {
            var parsed = validator.Validate(item, $"events[{index}].", origin, out var problem);
            results[index] = (parsed, problem);
            if (parsed is not null)
            {
                valid.Add(parsed);
            }

            index++;
        }

        IReadOnlyList<AppendOutcome> outcomes = [];
        if (valid.Count > 0)
        {
            var sequencer = await sequencers.GetAsync(ledger).ConfigureAwait(false);
            outcomes = await sequencer.AppendAsync(valid, context.RequestAborted).ConfigureAwait(false);
        }

        return new JsonResponse(200, w =>
        {
            int accepted = 0, duplicates = 0, rejected = 0, next = 0;
            w.WriteStartObject();
            w.WriteStartArray("data");
            for (var i = 0; i < results.Length; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("index", i);
                if (results[i].Parsed is null)
                {
                    rejected++;
                    w.WriteString("status", "rejected");
                    w.WritePropertyName("error");
                    ProblemWriter.WriteBody(w, results[i].Problem!, null);
                }
                else
                {
                    var outcome = outcomes[next++];
                    if (outcome.Duplicate)
                    {
                        duplicates++;
                    }
                    else
                    {
                        accepted++;
                    }

                    w.WriteString("status", outcome.Duplicate ? "duplicate" : "created");
                    w.WritePropertyName("event");
                    EventJson.Write(w, ledger.Name, outcome);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartObject("summary");
            w.WriteNumber("created", accepted);
            w.WriteNumber("duplicates", duplicates);
            w.WriteNumber("rejected", rejected);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> ListAsync(HttpContext context, LedgerAccess access, ISteleStore store)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        var q = new QueryParameters(context.Request, ListParameters);
        var action = q.String("action");
        if (action is not null && !ActionPatterns.IsValid(action))
        {
            q.Fail("action", "must be an action or a pattern of letters, digits, '.', '_', '-', ':' and '*'");
        }

        var outcome = q.String("outcome");
        if (outcome is not null and not ("success" or "failure"))
        {
            q.Fail("outcome", "must be 'success' or 'failure'");
        }

        var from = q.Time("from");
        var to = q.Time("to");
        var search = q.String("search", 200);
        var cursor = q.String("cursor", 100);
        var limit = q.Long("limit", 1, 1000) ?? 50;
        var query = new EventQuery
        {
            Action = action,
            ActorId = q.String("actor_id"),
            Resource = q.String("resource"),
            ResourceId = q.String("resource_id"),
            TargetType = q.String("target_type"),
            TargetId = q.String("target_id"),
            TenantId = q.String("tenant_id"),
            SessionId = q.String("session_id"),
            IpCountry = q.String("ip_country"),
            Outcome = outcome,
            FromMicros = from is null ? null : EventJson.MicrosOf(from.Value),
            ToMicros = to is null ? null : EventJson.MicrosOf(to.Value),
            Search = search,
            AfterSeq = cursor is null ? null : Cursor.Decode(cursor),
            Limit = (int)limit,
        };
        q.ThrowIfInvalid();

        var page = await store.QueryEventsAsync(ledger.Id, query, context.RequestAborted).ConfigureAwait(false);
        EventJson.AddFreshnessHeader(context.Response, page);
        return new JsonResponse(200, w => EventJson.WritePage(w, ledger.Name, page, e => Cursor.Encode(e.Seq)));
    }

    private static async Task<IResult> GetAsync(HttpContext context, string id, LedgerAccess access, ISteleStore store)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        var stored = await store.GetEventAsync(ledger.Id, id, context.RequestAborted).ConfigureAwait(false)
            ?? throw ApiException.NotFound("No event with that id in this ledger.");
        return new JsonResponse(200, w => EventJson.Write(w, ledger.Name, stored));
    }

    private static async Task<IResult> SessionAsync(HttpContext context, string session_id, LedgerAccess access, ISteleStore store)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        var q = new QueryParameters(context.Request, "cursor", "limit");
        var cursor = q.String("cursor", 100);
        var limit = q.Long("limit", 1, 1000) ?? 100;
        if (session_id.Length > IngestLimits.MaxIdLength)
        {
            q.Fail("session_id", $"must be at most {IngestLimits.MaxIdLength} characters");
        }

        q.ThrowIfInvalid();
        var query = new EventQuery
        {
            SessionId = session_id,
            Ascending = true,
            AfterSeq = cursor is null ? null : Cursor.Decode(cursor),
            Limit = (int)limit,
        };
        var page = await store.QueryEventsAsync(ledger.Id, query, context.RequestAborted).ConfigureAwait(false);
        EventJson.AddFreshnessHeader(context.Response, page);
        return new JsonResponse(200, w => EventJson.WritePage(w, ledger.Name, page, e => Cursor.Encode(e.Seq)));
    }

    private static RequestOrigin Origin(HttpContext context, Caller caller, ClientAddressResolver addresses)
    {
        var userAgent = context.Request.Headers.UserAgent.ToString();
        return new RequestOrigin(
            addresses.Resolve(context),
            userAgent.Length == 0 ? null : userAgent[..Math.Min(userAgent.Length, IngestLimits.MaxUserAgentLength)],
            caller.Has(Permission.ClientOrigin));
    }
}

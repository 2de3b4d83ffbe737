using System.Net.Mail;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Stele.Server.Alerts;
using Stele.Server.Auth;
using Stele.Server.Configuration;
using Stele.Server.Delivery;
using Stele.Server.Governance;
using Stele.Server.Ingestion;
using Stele.Storage;
using Stele.Storage.Alerts;

namespace Stele.Server.Api;

/// <summary>
/// Detection routes: <c>/alert-rules</c>, <c>/alert-destinations</c> and <c>/alerts</c>. Rules and
/// destinations are managed with an <c>admin</c> key and every change is recorded in <c>_system</c>;
/// alerts are read with a <c>read</c> key.
/// </summary>
internal static class AlertEndpoints
{
    private const int MaxBodyBytes = 64 * 1024;
    private const int MaxRecipients = 20;
    private const int MaxDestinationsPerRule = 10;
    private static readonly HashSet<string> RuleFields = new(StringComparer.Ordinal) { "type", "name", "parameters", "destinations", "enabled" };
    private static readonly HashSet<string> DestinationFields = new(StringComparer.Ordinal) { "type", "name", "url", "recipients", "enabled" };
    private static readonly HashSet<string> RotateFields = new(StringComparer.Ordinal) { "overlap_seconds" };

    public static void Map(RouteGroupBuilder group, string nameSuffix)
    {
        group.MapPost("/alert-rules", CreateRuleAsync).WithName("CreateAlertRule" + nameSuffix);
        group.MapGet("/alert-rules", ListRulesAsync).WithName("ListAlertRules" + nameSuffix);
        group.MapGet("/alert-rules/{id}", GetRuleAsync).WithName("GetAlertRule" + nameSuffix);
        group.MapPatch("/alert-rules/{id}", UpdateRuleAsync).WithName("UpdateAlertRule" + nameSuffix);
        group.MapPost("/alert-rules/{id}/disable", (HttpContext c, string id, LedgerAccess a, ISteleStore s, SystemAudit au, TimeProvider t) => SetRuleEnabledAsync(c, id, false, a, s, au, t))
            .WithName("DisableAlertRule" + nameSuffix);
        group.MapPost("/alert-rules/{id}/enable", (HttpContext c, string id, LedgerAccess a, ISteleStore s, SystemAudit au, TimeProvider t) => SetRuleEnabledAsync(c, id, true, a, s, au, t))
            .WithName("EnableAlertRule" + nameSuffix);
        group.MapDelete("/alert-rules/{id}", DeleteRuleAsync).WithName("DeleteAlertRule" + nameSuffix);

        group.MapPost("/alert-destinations", CreateDestinationAsync).WithName("CreateAlertDestination" + nameSuffix);
        group.MapGet("/alert-destinations", ListDestinationsAsync).WithName("ListAlertDestinations" + nameSuffix);
        group.MapGet("/alert-destinations/{id}", GetDestinationAsync).WithName("GetAlertDestination" + nameSuffix);
        group.MapPatch("/alert-destinations/{id}", UpdateDestinationAsync).WithName("UpdateAlertDestination" + nameSuffix);
        group.MapPost("/alert-destinations/{id}/rotate-secret", RotateSecretAsync).WithName("RotateAlertDestinationSecret" + nameSuffix);
        group.MapDelete("/alert-destinations/{id}", DeleteDestinationAsync).WithName("DeleteAlertDestination" + nameSuffix);

        group.MapGet("/alerts", ListAlertsAsync).WithName("ListAlerts" + nameSuffix);
        group.MapGet("/alerts/{id}", GetAlertAsync).WithName("GetAlert" + nameSuffix);
    }

    private static async Task<IResult> CreateRuleAsync(
        HttpContext context, LedgerAccess access, ISteleStore store, SystemAudit audit, TimeProvider clock, IOptions<SteleOptions> options, AlertEvaluationService evaluator)
    {
        var (caller, ledger) = await access.ResolveAsync(context, Permission.Admin).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        using var body = await RequestBody.ReadJsonAsync(context.Request, MaxBodyBytes).ConfigureAwait(false);
        var root = RequireObject(body.RootElement, RuleFields);
        var errors = new List<FieldError>();
        var type = ReadText(root, "type", errors, required: true, maxLength: 64);
        if (type == AlertRuleFactory.IntegrityViolation)
        {
            errors.Add(new("type", "integrity_violation is built in: every ledger has one; change its destinations with PATCH"));
        }

        var name = ReadText(root, "name", errors, required: false, maxLength: 200);
        var enabled = ReadBool(root, "enabled", errors) ?? true;
        var logic = type is null || errors.Count > 0 ? null : AlertRuleFactory.Create(type, Optional(root, "parameters"), errors);
        var destinations = await ReadDestinationIdsAsync(root, ledger, store, errors, context.RequestAborted).ConfigureAwait(false) ?? [];
        if (errors.Count > 0 || logic is null)
        {
            throw ApiException.Validation("The alert rule is not valid.", errors);
        }

        var now = clock.GetUtcNow();
        var rule = new AlertRuleRecord
        {
            Id = AlertIds.NewRule(),
            LedgerId = ledger.Id,
            Type = logic.Type,
            Name = name ?? logic.Type.Replace('_', ' '),
            Parameters = JsonSerializer.Serialize(logic.Parameters),
            Destinations = destinations,
            Enabled = enabled,
            CreatedAt = now,
            UpdatedAt = now,
        };
        var quota = options.Value.Alerts.RuleQuotaPerLedger;
        if (!await store.TryAddAlertRuleAsync(rule, quota, context.RequestAborted).ConfigureAwait(false))
        {
            throw new ApiException(429, "quota_exceeded", "Quota exceeded", $"The ledger has its maximum of {quota} alert rules; delete one first.")
            {
                RetryAfterSeconds = 3600,
            };
        }

        await audit.RecordAsync(caller.Key.Id, "alert_rule.created", "alert_rule", rule.Id, context, RuleDetails(ledger, rule), context.RequestAborted).ConfigureAwait(false);
        evaluator.Wake();
        context.Response.Headers.Location = $"{context.Request.PathBase}{context.Request.Path}/{rule.Id}";
        return new JsonResponse(201, w => AlertJson.WriteRule(w, ledger.Name, rule));
    }

    private static async Task<IResult> ListRulesAsync(HttpContext context, LedgerAccess access, ISteleStore store, TimeProvider clock)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        await BuiltInRules.EnsureAsync(store, ledger, clock.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
        var rules = await store.ListAlertRulesAsync(ledger.Id, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("data");
            foreach (var rule in rules)
            {
                AlertJson.WriteRule(w, ledger.Name, rule);
            }

            w.WriteEndArray();
            WriteLastPage(w);
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> GetRuleAsync(HttpContext context, string id, LedgerAccess access, ISteleStore store, TimeProvider clock)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var rule = await FindRuleAsync(store, ledger, id, clock, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(200, w => AlertJson.WriteRule(w, ledger.Name, rule));
    }

    private static async Task<IResult> UpdateRuleAsync(
        HttpContext context, string id, LedgerAccess access, ISteleStore store, SystemAudit audit, TimeProvider clock, AlertEvaluationService evaluator)
    {
        var (caller, ledger) = await access.ResolveAsync(context, Permission.Admin).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        using var body = await RequestBody.ReadJsonAsync(context.Request, MaxBodyBytes).ConfigureAwait(false);
        var root = RequireObject(body.RootElement, RuleFields);
        var rule = await FindRuleAsync(store, ledger, id, clock, context.RequestAborted).ConfigureAwait(false);
        var builtIn = rule.Type == AlertRuleFactory.IntegrityViolation;
        var errors = new List<FieldError>();
        if (ReadText(root, "type", errors, required: false, maxLength: 64) is { } type && type != rule.Type)
        {
            errors.Add(new("type", "cannot change; create a new rule instead"));
        }

        var name = ReadText(root, "name", errors, required: false, maxLength: 200);
        var enabled = ReadBool(root, "enabled", errors);
        var parameters = rule.Parameters;
        if (Optional(root, "parameters") is { } given)
        {
            if (AlertRuleFactory.Create(rule.Type, given, errors) is { } logic)
            {
                parameters = JsonSerializer.Serialize(logic.Parameters);
            }
        }

        var destinations = await ReadDestinationIdsAsync(root, ledger, store, errors, context.RequestAborted).ConfigureAwait(false);
        if (errors.Count > 0)
        {
            throw ApiException.Validation("The alert rule change is not valid.", errors);
        }

        if (builtIn && enabled == false)
        {
            throw ApiException.Conflict("The integrity_violation rule is always on; it cannot be disabled.");
        }

        var updated = rule with
        {
            Name = name ?? rule.Name,
            Parameters = parameters,
            Destinations = destinations ?? rule.Destinations,
            Enabled = enabled ?? rule.Enabled,
            UpdatedAt = clock.GetUtcNow(),
        };
        await SaveRuleAsync(store, updated, context.RequestAborted).ConfigureAwait(false);
        await audit.RecordAsync(caller.Key.Id, "alert_rule.updated", "alert_rule", rule.Id, context, RuleDetails(ledger, updated), context.RequestAborted).ConfigureAwait(false);
        evaluator.Wake();
        return new JsonResponse(200, w => AlertJson.WriteRule(w, ledger.Name, updated));
    }

    private static async Task<IResult> SetRuleEnabledAsync(
        HttpContext context, string id, bool enabled, LedgerAccess access, ISteleStore store, SystemAudit audit, TimeProvider clock)
    {
        var (caller, ledger) = await access.ResolveAsync(context, Permission.Admin).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var rule = await FindRuleAsync(store, ledger, id, clock, context.RequestAborted).ConfigureAwait(false);
        if (rule.Type == AlertRuleFactory.IntegrityViolation && !enabled)
        {
            throw ApiException.Conflict("The integrity_violation rule is always on; it cannot be disabled.");
        }

        var updated = rule with { Enabled = enabled, UpdatedAt = clock.GetUtcNow() };
        await SaveRuleAsync(store, updated, context.RequestAborted).ConfigureAwait(false);
        await audit.RecordAsync(caller.Key.Id, enabled ? "alert_rule.enabled" : "alert_rule.disabled", "alert_rule", rule.Id, context, RuleDetails(ledger, updated), context.RequestAborted)
            .ConfigureAwait(false);
        return new JsonResponse(200, w => AlertJson.WriteRule(w, ledger.Name, updated));
    }

    private static async Task<IResult> DeleteRuleAsync(HttpContext context, string id, LedgerAccess access, ISteleStore store, SystemAudit audit, TimeProvider clock)
    {
        var (caller, ledger) = await access.ResolveAsync(context, Permission.Admin).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var rule = await FindRuleAsync(store, ledger, id, clock, context.RequestAborted).ConfigureAwait(false);
        if (rule.Type == AlertRuleFactory.IntegrityViolation)
        {
            throw ApiException.Conflict("The integrity_violation rule is always on; it cannot be deleted.");
        }

        if (!await store.DeleteAlertRuleAsync(ledger.Id, rule.Id, context.RequestAborted).ConfigureAwait(false))
        {
            throw ApiException.NotFound("No alert rule with that id in this ledger.");
        }

        await audit.RecordAsync(caller.Key.Id, "alert_rule.deleted", "alert_rule", rule.Id, context, RuleDetails(ledger, rule), context.RequestAborted).ConfigureAwait(false);
        return Results.NoContent();
    }

    private static async Task<IResult> CreateDestinationAsync(
        HttpContext context, LedgerAccess access, ISteleStore store, SystemAudit audit, TimeProvider clock, IOptions<SteleOptions> options)
    {
        var (caller, ledger) = await access.ResolveAsync(context, Permission.Admin).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        using var body = await RequestBody.ReadJsonAsync(context.Request, MaxBodyBytes).ConfigureAwait(false);
        var root = RequireObject(body.RootElement, DestinationFields);
        var errors = new List<FieldError>();
        var kind = ReadText(root, "type", errors, required: true, maxLength: 16);
        if (kind is not null and not ("webhook" or "email"))
        {
            errors.Add(new("type", "must be 'webhook' or 'email'"));
        }

        var name = ReadText(root, "name", errors, required: false, maxLength: 200);
        string? target = null;
        if (kind == "webhook")
        {
            target = ReadWebhookUrl(root, errors, required: true);
            Forbid(root, "recipients", "is only for email destinations", errors);
        }
        else if (kind == "email")
        {
            target = ReadRecipients(root, errors, required: true);
            Forbid(root, "url", "is only for webhook destinations", errors);
        }

        if (ReadBool(root, "enabled", errors) == false)
        {
            errors.Add(new("enabled", "a new destination starts enabled"));
        }

        if (errors.Count > 0 || kind is null || target is null)
        {
            throw ApiException.Validation("The alert destination is not valid.", errors);
        }

        var existing = await store.ListAlertDestinationsAsync(ledger.Id, context.RequestAborted).ConfigureAwait(false);
        var quota = options.Value.Alerts.DestinationQuotaPerLedger;
        if (existing.Count >= quota)
        {
            throw new ApiException(429, "quota_exceeded", "Quota exceeded", $"The ledger has its maximum of {quota} alert destinations; delete one first.")
            {
                RetryAfterSeconds = 3600,
            };
        }

        var now = clock.GetUtcNow();
        var secret = kind == "webhook" ? WebhookSecret.Generate() : null;
        var destination = new AlertDestinationRecord
        {
            Id = AlertIds.NewDestination(),
            LedgerId = ledger.Id,
            Kind = kind,
            Name = name ?? kind,
            Target = target,
            Secrets = secret is null ? null : WebhookSecretSet.New(secret).ToJson(),
            State = AlertDestinationRecord.Active,
            CreatedAt = now,
            UpdatedAt = now,
        };
        await store.AddAlertDestinationAsync(destination, context.RequestAborted).ConfigureAwait(false);
        await audit.RecordAsync(caller.Key.Id, "alert_destination.created", "alert_destination", destination.Id, context, DestinationDetails(ledger, destination), context.RequestAborted)
            .ConfigureAwait(false);
        context.Response.Headers.Location = $"{context.Request.PathBase}{context.Request.Path}/{destination.Id}";
        return new JsonResponse(201, w => AlertJson.WriteDestination(w, ledger.Name, destination, now, secret?.Text));
    }

    private static async Task<IResult> ListDestinationsAsync(HttpContext context, LedgerAccess access, ISteleStore store, TimeProvider clock)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Admin).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var destinations = await store.ListAlertDestinationsAsync(ledger.Id, context.RequestAborted).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        return new JsonResponse(200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("data");
            foreach (var destination in destinations)
            {
                AlertJson.WriteDestination(w, ledger.Name, destination, now);
            }

            w.WriteEndArray();
            WriteLastPage(w);
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> GetDestinationAsync(HttpContext context, string id, LedgerAccess access, ISteleStore store, TimeProvider clock)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Admin).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var destination = await FindDestinationAsync(store, ledger, id, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(200, w => AlertJson.WriteDestination(w, ledger.Name, destination, clock.GetUtcNow()));
    }

    private static async Task<IResult> UpdateDestinationAsync(HttpContext context, string id, LedgerAccess access, ISteleStore store, SystemAudit audit, TimeProvider clock)
    {
        var (caller, ledger) = await access.ResolveAsync(context, Permission.Admin).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        using var body = await RequestBody.ReadJsonAsync(context.Request, MaxBodyBytes).ConfigureAwait(false);
        var root = RequireObject(body.RootElement, DestinationFields);
        var destination = await FindDestinationAsync(store, ledger, id, context.RequestAborted).ConfigureAwait(false);
        var errors = new List<FieldError>();
        if (ReadText(root, "type", errors, required: false, maxLength: 16) is { } kind && kind != destination.Kind)
        {
            errors.Add(new("type", "cannot change; create a new destination instead"));
        }

        var name = ReadText(root, "name", errors, required: false, maxLength: 200);
        var target = destination.Kind == "webhook" ? ReadWebhookUrl(root, errors, required: false) : ReadRecipients(root, errors, required: false);
        Forbid(root, destination.Kind == "webhook" ? "recipients" : "url", $"does not apply to {destination.Kind} destinations", errors);
        var enabled = ReadBool(root, "enabled", errors);
        if (errors.Count > 0)
        {
            throw ApiException.Validation("The alert destination change is not valid.", errors);
        }

        var updated = destination with
        {
            Name = name ?? destination.Name,
            Target = target ?? destination.Target,
            State = enabled switch
            {
                true => AlertDestinationRecord.Active,
                false => AlertDestinationRecord.Disabled,
                null => destination.State,
            },
            DisabledReason = enabled switch
            {
                true => null,
                false => "disabled by an administrator",
                null => destination.DisabledReason,
            },
            UpdatedAt = clock.GetUtcNow(),
        };
        if (!await store.UpdateAlertDestinationAsync(updated, context.RequestAborted).ConfigureAwait(false))
        {
            throw ApiException.NotFound("No alert destination with that id in this ledger.");
        }

        await audit.RecordAsync(caller.Key.Id, "alert_destination.updated", "alert_destination", id, context, DestinationDetails(ledger, updated), context.RequestAborted)
            .ConfigureAwait(false);
        return new JsonResponse(200, w => AlertJson.WriteDestination(w, ledger.Name, updated, clock.GetUtcNow()));
    }

    private static async Task<IResult> RotateSecretAsync(
        HttpContext context, string id, LedgerAccess access, ISteleStore store, SystemAudit audit, TimeProvider clock, IOptions<SteleOptions> options)
    {
        var (caller, ledger) = await access.ResolveAsync(context, Permission.Admin).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var overlap = options.Value.Alerts.SecretRotationOverlap;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            using var body = await RequestBody.ReadJsonAsync(context.Request, MaxBodyBytes).ConfigureAwait(false);
            var root = RequireObject(body.RootElement, RotateFields);
            if (root.TryGetProperty("overlap_seconds", out var value))
            {
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var seconds) || seconds < 0 || seconds > 30 * 86_400)
                {
                    throw ApiException.Validation("The rotation is not valid.", [new("overlap_seconds", "must be a whole number of seconds from 0 to 2592000 (30 days)")]);
                }

                overlap = TimeSpan.FromSeconds(seconds);
            }
        }

        var destination = await FindDestinationAsync(store, ledger, id, context.RequestAborted).ConfigureAwait(false);
        if (destination.Kind != "webhook")
        {
            throw ApiException.Conflict("Only webhook destinations have signing secrets.");
        }

        var now = clock.GetUtcNow();
        var secrets = WebhookSecretSet.Parse(destination.Secrets);
        var next = WebhookSecret.Generate();
        secrets.Rotate(next, now, now + overlap);
        var updated = destination with { Secrets = secrets.ToJson(), UpdatedAt = now };
        if (!await store.UpdateAlertDestinationAsync(updated, context.RequestAborted).ConfigureAwait(false))
        {
            throw ApiException.NotFound("No alert destination with that id in this ledger.");
        }

        await audit.RecordAsync(caller.Key.Id, "alert_destination.secret_rotated", "alert_destination", id, context,
            new Dictionary<string, object?> { ["ledger"] = ledger.Name, ["overlap_seconds"] = (long)overlap.TotalSeconds }, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(200, w => AlertJson.WriteDestination(w, ledger.Name, updated, now, next.Text));
    }

    private static async Task<IResult> DeleteDestinationAsync(HttpContext context, string id, LedgerAccess access, ISteleStore store, SystemAudit audit)
    {
        var (caller, ledger) = await access.ResolveAsync(context, Permission.Admin).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var destination = await FindDestinationAsync(store, ledger, id, context.RequestAborted).ConfigureAwait(false);
        var users = (await store.ListAlertRulesAsync(ledger.Id, context.RequestAborted).ConfigureAwait(false))
            .Where(r => r.Destinations.Contains(id, StringComparer.Ordinal))
            .Select(r => r.Id)
            .ToList();
        if (users.Count > 0)
        {
            throw ApiException.Conflict($"The destination is used by alert rule(s) {string.Join(", ", users)}; remove it from them first.");
        }

        if (!await store.DeleteAlertDestinationAsync(ledger.Id, id, context.RequestAborted).ConfigureAwait(false))
        {
            throw ApiException.NotFound("No alert destination with that id in this ledger.");
        }

        await audit.RecordAsync(caller.Key.Id, "alert_destination.deleted", "alert_destination", id, context, DestinationDetails(ledger, destination), context.RequestAborted)
            .ConfigureAwait(false);
        return Results.NoContent();
    }

    private static async Task<IResult> ListAlertsAsync(HttpContext context, LedgerAccess access, ISteleStore store)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        var q = new QueryParameters(context.Request, "rule_id", "type", "event_id", "actor_id", "from", "to", "cursor", "limit");
        var type = q.String("type", 64);
        if (type is not null && type != AlertRuleFactory.IntegrityViolation && !AlertRuleFactory.CreatableTypes.Contains(type, StringComparer.Ordinal))
        {
            q.Fail("type", $"must be one of: {string.Join(", ", AlertRuleFactory.CreatableTypes)}, {AlertRuleFactory.IntegrityViolation}");
        }

        var from = q.Time("from");
        var to = q.Time("to");
        var cursor = q.String("cursor", 200);
        var query = new AlertQuery
        {
            RuleId = q.String("rule_id", 100),
            RuleType = type,
            EventId = q.String("event_id", 100),
            ActorId = q.String("actor_id", IngestLimits.MaxIdLength),
            FromMicros = from is null ? null : EventJson.MicrosOf(from.Value),
            ToMicros = to is null ? null : EventJson.MicrosOf(to.Value),
            BeforeId = cursor is null ? null : Cursor.DecodeId(cursor),
            Limit = (int)(q.Long("limit", 1, 1000) ?? 50),
        };
        q.ThrowIfInvalid();
        var page = await store.QueryAlertsAsync(ledger.Id, query, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("data");
            foreach (var alert in page.Alerts)
            {
                AlertJson.WriteAlert(w, ledger.Name, alert);
            }

            w.WriteEndArray();
            w.WriteStartObject("pagination");
            w.WriteBoolean("has_more", page.HasMore);
            if (page.HasMore && page.Alerts.Count > 0)
            {
                w.WriteString("next_cursor", Cursor.EncodeId(page.Alerts[^1].Id));
            }
            else
            {
                w.WriteNull("next_cursor");
            }

            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> GetAlertAsync(HttpContext context, string id, LedgerAccess access, ISteleStore store)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var alert = await store.GetAlertAsync(ledger.Id, id, context.RequestAborted).ConfigureAwait(false)
            ?? throw ApiException.NotFound("No alert with that id in this ledger.");
        var deliveries = await store.ListDeliveriesAsync(alert.Id, context.RequestAborted).ConfigureAwait(false);
        var attempts = await store.ListDeliveryAttemptsAsync(alert.Id, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(200, w =>
        {
            // The alert, then its delivery log, in one object.
            using var buffer = new MemoryStream();
            using (var inner = new Utf8JsonWriter(buffer))
            {
                AlertJson.WriteAlert(inner, ledger.Name, alert);
            }

            using var document = JsonDocument.Parse(buffer.ToArray());
            w.WriteStartObject();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                property.WriteTo(w);
            }

            AlertJson.WriteDeliveries(w, deliveries, attempts);
            w.WriteEndObject();
        });
    }

    private static async Task<AlertRuleRecord> FindRuleAsync(ISteleStore store, LedgerInfo ledger, string id, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (id == AlertIds.IntegrityRule(ledger.Name))
        {
            await BuiltInRules.EnsureAsync(store, ledger, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }

        return await store.GetAlertRuleAsync(ledger.Id, id, cancellationToken).ConfigureAwait(false)
            ?? throw ApiException.NotFound("No alert rule with that id in this ledger.");
    }

    private static async Task<AlertDestinationRecord> FindDestinationAsync(ISteleStore store, LedgerInfo ledger, string id, CancellationToken cancellationToken) =>
        await store.GetAlertDestinationAsync(ledger.Id, id, cancellationToken).ConfigureAwait(false)
        ?? throw ApiException.NotFound("No alert destination with that id in this ledger.");

    private static async Task SaveRuleAsync(ISteleStore store, AlertRuleRecord rule, CancellationToken cancellationToken)
    {
        if (!await store.UpdateAlertRuleAsync(rule, cancellationToken).ConfigureAwait(false))
        {
            throw ApiException.NotFound("No alert rule with that id in this ledger.");
        }
    }

    private static JsonElement RequireObject(JsonElement root, IReadOnlySet<string> fields)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.Validation("The body must be a JSON object.");
        }

        var errors = new List<FieldError>();
        EventValidator.CheckFieldNames(root, fields, string.Empty, errors);
        if (errors.Count > 0)
        {
            throw ApiException.Validation("The body holds unknown fields.", errors);
        }

        return root;
    }

    private static JsonElement? Optional(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string? ReadText(JsonElement root, string name, List<FieldError> errors, bool required, int maxLength)
    {
        if (Optional(root, name) is not { } value)
        {
            if (required)
            {
                errors.Add(new(name, "is required"));
            }

            return null;
        }

        var text = value.ValueKind == JsonValueKind.String ? EventValidator.ReadString(value) : null;
        if (text is null || text.Length == 0 || text.Length > maxLength || text.Any(char.IsControl))
        {
            errors.Add(new(name, $"must be a string of 1 to {maxLength} printable characters"));
            return null;
        }

        return text;
    }

    private static bool? ReadBool(JsonElement root, string name, List<FieldError> errors)
    {
        if (Optional(root, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            errors.Add(new(name, "must be true or false"));
            return null;
        }

        return value.GetBoolean();
    }

    private static void Forbid(JsonElement root, string name, string message, List<FieldError> errors)
    {
        if (root.TryGetProperty(name, out _))
        {
            errors.Add(new(name, message));
        }
    }

    private static async Task<IReadOnlyList<string>?> ReadDestinationIdsAsync(
        JsonElement root, LedgerInfo ledger, ISteleStore store, List<FieldError> errors, CancellationToken cancellationToken)
    {
        if (Optional(root, "destinations") is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > MaxDestinationsPerRule)
        {
            errors.Add(new("destinations", $"must be an array of at most {MaxDestinationsPerRule} destination ids"));
            return null;
        }

        var ids = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            var id = item.ValueKind == JsonValueKind.String ? EventValidator.ReadString(item) : null;
            if (id is null || id.Length > 100 || id.Any(char.IsControl))
            {
                errors.Add(new("destinations", "must hold destination ids (strings)"));
                return null;
            }

            // Another ledger's destination is as unknown as a made-up id.
            if (await store.GetAlertDestinationAsync(ledger.Id, id, cancellationToken).ConfigureAwait(false) is null)
            {
                errors.Add(new("destinations", $"'{(id.Length > 40 ? id[..40] : id)}' is not a destination of this ledger"));
                return null;
            }

            if (!ids.Contains(id, StringComparer.Ordinal))
            {
                ids.Add(id);
            }
        }

        return ids;
    }

    private static string? ReadWebhookUrl(JsonElement root, List<FieldError> errors, bool required)
    {
        var text = ReadText(root, "url", errors, required, 2048);
        if (text is null)
        {
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp) || url.Host.Length == 0)
        {
            errors.Add(new("url", "must be an absolute http:// or https:// URL"));
            return null;
        }

        if (url.UserInfo.Length > 0)
        {
            errors.Add(new("url", "must not hold a user name or password; the receiver authenticates deliveries by their signature"));
            return null;
        }

        if (url.Fragment.Length > 0)
        {
            errors.Add(new("url", "must not hold a #fragment"));
            return null;
        }

        return url.AbsoluteUri;
    }

    private static string? ReadRecipients(JsonElement root, List<FieldError> errors, bool required)
    {
        if (Optional(root, "recipients") is not { } value)
        {
            if (required)
            {
                errors.Add(new("recipients", "is required: an array of email addresses"));
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() is 0 or > MaxRecipients)
        {
            errors.Add(new("recipients", $"must be an array of 1 to {MaxRecipients} email addresses"));
            return null;
        }

        var addresses = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            var text = item.ValueKind == JsonValueKind.String ? EventValidator.ReadString(item) : null;
            if (text is null || text.Length > 254 || text.Any(c => char.IsControl(c) || c == ',' || char.IsWhiteSpace(c))
                || !MailAddress.TryCreate(text, out var address) || address.Address != text || !text.Contains('@', StringComparison.Ordinal))
            {
                errors.Add(new("recipients", "must hold plain email addresses such as security@example.com"));
                return null;
            }

            if (!addresses.Contains(text, StringComparer.OrdinalIgnoreCase))
            {
                addresses.Add(text);
            }
        }

        return string.Join(',', addresses);
    }

    private static void WriteLastPage(Utf8JsonWriter w)
    {
        w.WriteStartObject("pagination");
        w.WriteBoolean("has_more", false);
        w.WriteNull("next_cursor");
        w.WriteEndObject();
    }

    // What _system records: configuration, never secrets or recipient addresses (personal data).
    private static Dictionary<string, object?> RuleDetails(LedgerInfo ledger, AlertRuleRecord rule) => new()
    {
        ["ledger"] = ledger.Name,
        ["type"] = rule.Type,
        ["name"] = rule.Name,
        ["enabled"] = rule.Enabled,
        ["destinations"] = rule.Destinations,
        ["parameters"] = JsonDocument.Parse(rule.Parameters).RootElement.Clone(),
    };

    private static Dictionary<string, object?> DestinationDetails(LedgerInfo ledger, AlertDestinationRecord destination) => new()
    {
        ["ledger"] = ledger.Name,
        ["type"] = destination.Kind,
        ["name"] = destination.Name,
        ["enabled"] = destination.State == AlertDestinationRecord.Active,
        ["url"] = destination.Kind == "webhook" ? destination.Target : null,
        ["recipients"] = destination.Kind == "email" ? destination.Target.Split(',').Length : null,
    };
}

using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stele.Server.Auth;
using Stele.Server.Governance;
using Stele.Server.Ingestion;
using Stele.Storage;

namespace Stele.Server.Api;

/// <summary>
/// Administration: <c>/keys</c> and <c>/ledgers</c>. Every change is recorded in <c>_system</c>.
/// A ledger-scoped admin key manages keys of its own ledger only and sees no other ledger.
/// </summary>
internal static partial class AdminEndpoints
{
    private static readonly HashSet<string> KeyFields = new(StringComparer.Ordinal) { "name", "ledger", "permissions" };
    private static readonly HashSet<string> LedgerFields = new(StringComparer.Ordinal) { "name", "description" };

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/keys", CreateKeyAsync).WithName("CreateKey");
        api.MapGet("/keys", ListKeysAsync).WithName("ListKeys");
        api.MapGet("/keys/{id}", GetKeyAsync).WithName("GetKey");
        api.MapDelete("/keys/{id}", RevokeKeyAsync).WithName("RevokeKey");
        api.MapPost("/ledgers", CreateLedgerAsync).WithName("CreateLedger");
        api.MapGet("/ledgers", ListLedgersAsync).WithName("ListLedgers");
        api.MapGet("/ledgers/{ledger}", GetLedgerAsync).WithName("GetLedger");
    }

    private static async Task<IResult> CreateKeyAsync(HttpContext context, LedgerAccess access, ISteleStore store, SystemAudit audit, TimeProvider clock)
    {
        var caller = await access.RequireAdminAsync(context).ConfigureAwait(false);
        using var body = await RequestBody.ReadJsonAsync(context.Request, 16 * 1024).ConfigureAwait(false);
        var root = body.RootElement;
        var errors = new List<FieldError>();
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.Validation("The body must be a JSON object.");
        }

        if (!EventValidator.CheckFieldNames(root, KeyFields, string.Empty, errors))
        {
            throw ApiException.Validation("The body holds a field name that is not valid Unicode.", errors);
        }

        var name = ReadString(root, "name", errors, required: true, maxLength: 100);
        var ledger = ReadString(root, "ledger", errors, required: false, maxLength: 63);
        var permissions = new List<string>();
        if (!root.TryGetProperty("permissions", out var perms) || perms.ValueKind != JsonValueKind.Array || perms.GetArrayLength() == 0)
        {
            errors.Add(new("permissions", "is required: a non-empty array of 'ingest', 'read', 'admin', 'client_origin'"));
        }
        else
        {
            foreach (var p in perms.EnumerateArray())
            {
                var value = p.ValueKind == JsonValueKind.String ? EventValidator.ReadString(p) : null;
                if (value is null || !Permission.IsKnown(value))
                {
                    errors.Add(new("permissions", "may hold only 'ingest', 'read', 'admin' and 'client_origin'"));
                    break;
                }

                if (!permissions.Contains(value))
                {
                    permissions.Add(value);
                }
            }
        }

        if (errors.Count > 0)
        {
            throw ApiException.Validation("The key request is not valid.", errors);
        }

        if (caller.Key.Ledger is not null)
        {
            // A ledger admin can only hand out keys for its own ledger.
            ledger ??= caller.Key.Ledger;
            if (ledger != caller.Key.Ledger)
            {
                throw ApiException.NotFound($"No ledger named '{ledger}'.");
            }
        }

        if (ledger is not null)
        {
            if (ledger == LedgerAccess.SystemLedger || await store.FindLedgerAsync(ledger, context.RequestAborted).ConfigureAwait(false) is null)
            {
                throw ApiException.NotFound($"No ledger named '{ledger}'.");
            }
        }

        var (token, prefix, hash) = ApiKeyFormat.Generate();
        var record = new ApiKeyRecord
        {
            Id = "key_" + prefix,
            Prefix = prefix,
            SecretHash = hash,
            Name = name!,
            Ledger = ledger,
            Permissions = permissions,
            CreatedAt = clock.GetUtcNow(),
        };
        await store.AddApiKeyAsync(record, context.RequestAborted).ConfigureAwait(false);
        await audit.RecordAsync(caller.Key.Id, "api_key.created", "api_key", record.Id, context,
            new Dictionary<string, object?> { ["name"] = record.Name, ["ledger"] = record.Ledger, ["permissions"] = permissions },
            context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(201, w => WriteKey(w, record, token));
    }

    private static async Task<IResult> ListKeysAsync(HttpContext context, LedgerAccess access, ISteleStore store)
    {
        var caller = await access.RequireAdminAsync(context).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var keys = await store.ListApiKeysAsync(caller.Key.Ledger, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("data");
            foreach (var key in keys)
            {
                WriteKey(w, key, null);
            }

            w.WriteEndArray();
            w.WriteStartObject("pagination");
            w.WriteBoolean("has_more", false);
            w.WriteNull("next_cursor");
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> GetKeyAsync(HttpContext context, string id, LedgerAccess access, ISteleStore store)
    {
        var caller = await access.RequireAdminAsync(context).ConfigureAwait(false);
        var key = await FindVisibleKeyAsync(caller, id, store, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(200, w => WriteKey(w, key, null));
    }

    private static async Task<IResult> RevokeKeyAsync(
        HttpContext context, string id, LedgerAccess access, ISteleStore store, SystemAudit audit, TimeProvider clock, ApiKeyAuthenticator authenticator)
    {
        var caller = await access.RequireAdminAsync(context).ConfigureAwait(false);
        var key = await FindVisibleKeyAsync(caller, id, store, context.RequestAborted).ConfigureAwait(false);
        if (!await store.RevokeApiKeyAsync(key.Id, clock.GetUtcNow(), context.RequestAborted).ConfigureAwait(false))
        {
            throw ApiException.Conflict("The key is already revoked.");
        }

        authenticator.Forget(key);

        await audit.RecordAsync(caller.Key.Id, "api_key.revoked", "api_key", key.Id, context, null, context.RequestAborted).ConfigureAwait(false);
        var revoked = await store.GetApiKeyAsync(key.Id, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(200, w => WriteKey(w, revoked!, null));
    }

    private static async Task<ApiKeyRecord> FindVisibleKeyAsync(Caller caller, string id, ISteleStore store, CancellationToken cancellationToken)
    {
        var key = id.Length <= 64 ? await store.GetApiKeyAsync(id, cancellationToken).ConfigureAwait(false) : null;
        if (key is null || (caller.Key.Ledger is not null && key.Ledger != caller.Key.Ledger))
        {
            throw ApiException.NotFound("No API key with that id.");
        }

        return key;
    }

    private static async Task<IResult> CreateLedgerAsync(HttpContext context, LedgerAccess access, ISteleStore store, SequencerRegistry sequencers, SystemAudit audit, TimeProvider clock)
    {
        var caller = await access.RequireAdminAsync(context).ConfigureAwait(false);
        if (!caller.IsAccountWide)
        {
            throw ApiException.Forbidden("Only an account-wide admin key can create ledgers.");
        }

        using var body = await RequestBody.ReadJsonAsync(context.Request, 16 * 1024).ConfigureAwait(false);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw ApiException.Validation("The body must be a JSON object.");
        }

        var errors = new List<FieldError>();
        if (!EventValidator.CheckFieldNames(root, LedgerFields, string.Empty, errors))
        {
            throw ApiException.Validation("The body holds a field name that is not valid Unicode.", errors);
        }

        var name = ReadString(root, "name", errors, required: true, maxLength: 63);
        if (name is not null && !LedgerName().IsMatch(name))
        {
            errors.Add(new("name", "must match ^[a-z0-9][a-z0-9-]{0,62}$"));
        }

        var description = ReadString(root, "description", errors, required: false, maxLength: 1000);
        if (errors.Count > 0)
        {
            throw ApiException.Validation("The ledger request is not valid.", errors);
        }

        var ledger = await store.CreateLedgerAsync(name!, description, clock.GetUtcNow(), context.RequestAborted).ConfigureAwait(false)
            ?? throw ApiException.Conflict($"A ledger named '{name}' exists already.");
        await sequencers.GetAsync(ledger).ConfigureAwait(false);
        await audit.RecordAsync(caller.Key.Id, "ledger.created", "ledger", ledger.Name, context, null, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(201, w => WriteLedger(w, ledger, 0, null, default));
    }

    private static async Task<IResult> ListLedgersAsync(HttpContext context, LedgerAccess access, ISteleStore store)
    {
        var caller = await access.AuthenticateAsync(context).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var ledgers = (await store.ListLedgersAsync(context.RequestAborted).ConfigureAwait(false))
            .Where(l => Visible(caller, l.Name))
            .ToList();
        var sizes = new List<(LedgerInfo Ledger, long Size, long? Checkpoint, IndexReach Indexed)>();
        foreach (var ledger in ledgers)
        {
            var head = await store.GetHeadAsync(ledger.Id, context.RequestAborted).ConfigureAwait(false);
            var checkpoint = await store.GetLatestCheckpointAsync(ledger.Id, context.RequestAborted).ConfigureAwait(false);
            var indexed = await IndexReach.ReadAsync(store, ledger.Id, context.RequestAborted).ConfigureAwait(false);
            sizes.Add((ledger, head.Size, checkpoint?.Size, indexed));
        }

        return new JsonResponse(200, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("data");
            foreach (var (ledger, size, checkpoint, indexed) in sizes)
            {
                WriteLedger(w, ledger, size, checkpoint, indexed);
            }

            w.WriteEndArray();
            w.WriteStartObject("pagination");
            w.WriteBoolean("has_more", false);
            w.WriteNull("next_cursor");
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    private static async Task<IResult> GetLedgerAsync(HttpContext context, string ledger, LedgerAccess access, ISteleStore store)
    {
        var caller = await access.AuthenticateAsync(context).ConfigureAwait(false);
        var info = Visible(caller, ledger) ? await store.FindLedgerAsync(ledger, context.RequestAborted).ConfigureAwait(false) : null;
        if (info is null)
        {
            throw ApiException.NotFound("No ledger with that name.");
        }

        var head = await store.GetHeadAsync(info.Id, context.RequestAborted).ConfigureAwait(false);
        var checkpoint = await store.GetLatestCheckpointAsync(info.Id, context.RequestAborted).ConfigureAwait(false);
        var indexed = await IndexReach.ReadAsync(store, info.Id, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(200, w => WriteLedger(w, info, head.Size, checkpoint?.Size, indexed));
    }

    private static void WriteThroughSeq(Utf8JsonWriter w, string name, long size)
    {
        if (size > 0)
        {
            w.WriteNumber(name, size - 1);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>How many events the query indexes of a ledger cover: all but the search index, and the search index.</summary>
    private readonly record struct IndexReach(long Filters, long Search)
    {
        public static async Task<IndexReach> ReadAsync(ISteleStore store, long ledgerId, CancellationToken cancellationToken)
        {
            // Search first: it never passes the other cursor, so read in this order the two never cross.
            var search = await store.GetSearchIndexedSizeAsync(ledgerId, cancellationToken).ConfigureAwait(false);
            var filters = await store.GetIndexedSizeAsync(ledgerId, cancellationToken).ConfigureAwait(false);
            return new IndexReach(filters, search);
        }
    }

    private static bool Visible(Caller caller, string ledger) =>
        caller.Key.Ledger is not null
            ? caller.Key.Ledger == ledger
            : ledger != LedgerAccess.SystemLedger || caller.Has(Permission.Admin);

    private static string? ReadString(JsonElement root, string name, List<FieldError> errors, bool required, int maxLength)
    {
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                errors.Add(new(name, "is required"));
            }

            return null;
        }

        var value = element.ValueKind == JsonValueKind.String ? EventValidator.ReadString(element) : null;
        if (value is null || value.Length == 0 || value.Length > maxLength || value.Any(char.IsControl))
        {
            errors.Add(new(name, $"must be a string of 1 to {maxLength} printable characters"));
            return null;
        }

        return value;
    }

    private static void WriteKey(Utf8JsonWriter w, ApiKeyRecord key, string? secret)
    {
        w.WriteStartObject();
        w.WriteString("id", key.Id);
        w.WriteString("name", key.Name);
        if (key.Ledger is null)
        {
            w.WriteNull("ledger");
        }
        else
        {
            w.WriteString("ledger", key.Ledger);
        }

        w.WriteStartArray("permissions");
        foreach (var p in key.Permissions)
        {
            w.WriteStringValue(p);
        }

        w.WriteEndArray();
        w.WriteString("created_at", Time(key.CreatedAt));
        if (key.RevokedAt is { } revoked)
        {
            w.WriteString("revoked_at", Time(revoked));
        }
        else
        {
            w.WriteNull("revoked_at");
        }

        if (secret is not null)
        {
            // Shown once; Stele keeps only its hash.
            w.WriteString("key", secret);
        }

        w.WriteEndObject();
    }

    private static void WriteLedger(Utf8JsonWriter w, LedgerInfo ledger, long size, long? checkpointSize, IndexReach indexed)
    {
        w.WriteStartObject();
        w.WriteString("name", ledger.Name);
        if (ledger.Description is null)
        {
            w.WriteNull("description");
        }
        else
        {
            w.WriteString("description", ledger.Description);
        }

        w.WriteString("created_at", Time(ledger.CreatedAt));
        w.WriteNumber("size", size);
        if (checkpointSize is { } c)
        {
            w.WriteNumber("checkpoint_size", c);
        }
        else
        {
            w.WriteNull("checkpoint_size");
        }

        // How far the query indexes of GET /events reach (they are maintained behind ingestion): every
        // query, search included, and every query without a search term (the search index trails).
        WriteThroughSeq(w, "indexed_through_seq", Math.Min(indexed.Filters, indexed.Search));
        WriteThroughSeq(w, "filters_indexed_through_seq", indexed.Filters);

        w.WriteEndObject();
    }

    internal static string Time(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex LedgerName();
}

using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Stele.Server.Auth;
using Stele.Server.Configuration;
using Stele.Server.Exports;
using Stele.Server.Governance;
using Stele.Storage;

namespace Stele.Server.Api;

/// <summary>Export routes: <c>POST /exports</c>, <c>GET /exports/{id}</c>, <c>GET /exports/{id}/download</c>.</summary>
internal static class ExportEndpoints
{
    private const int MaxBodyBytes = 16 * 1024;

    public static void Map(RouteGroupBuilder group, string nameSuffix)
    {
        group.MapPost("/exports", CreateAsync).WithName("CreateExport" + nameSuffix);
        group.MapGet("/exports/{id}", GetAsync).WithName("GetExport" + nameSuffix);
        group.MapGet("/exports/{id}/download", DownloadAsync).WithName("DownloadExport" + nameSuffix);
    }

    private static async Task<IResult> CreateAsync(
        HttpContext context, LedgerAccess access, ISteleStore store, ExportService service, SystemAudit audit, IOptions<SteleOptions> options, TimeProvider clock)
    {
        var (caller, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        using var body = await RequestBody.ReadJsonAsync(context.Request, MaxBodyBytes).ConfigureAwait(false);
        var request = ExportRequest.Parse(body.RootElement);

        var now = clock.GetUtcNow();
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var quota = options.Value.ExportMonthlyQuota;
        var job = new ExportJob
        {
            Id = "exp_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            LedgerId = ledger.Id,
            Request = request.ToJson(),
            CreatedBy = caller.Key.Id,
            CreatedAt = now,
            State = ExportJob.Queued,
        };
        if (!await store.TryAddExportAsync(job, monthStart, quota, context.RequestAborted).ConfigureAwait(false))
        {
            var retry = (int)Math.Ceiling((monthStart.AddMonths(1) - now).TotalSeconds);
            throw new ApiException(429, "quota_exceeded", "Quota exceeded", $"The ledger has used its {quota} exports for this month.")
            {
                RetryAfterSeconds = Math.Max(1, retry),
            };
        }

        await audit.RecordAsync(caller.Key.Id, "export.created", "export", job.Id, context, Details(ledger, request), context.RequestAborted)
            .ConfigureAwait(false);
        service.Wake();
        context.Response.Headers.Location = $"{context.Request.PathBase}{context.Request.Path}/{job.Id}";
        return new JsonResponse(202, w => Write(w, ledger.Name, job, request));
    }

    private static async Task<IResult> GetAsync(HttpContext context, string id, LedgerAccess access, ISteleStore store)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var job = await FindAsync(store, ledger, id, context.RequestAborted).ConfigureAwait(false);
        return new JsonResponse(200, w => Write(w, ledger.Name, job, ExportRequest.FromJson(job.Request)));
    }

    private static async Task<IResult> DownloadAsync(
        HttpContext context, string id, LedgerAccess access, ISteleStore store, ExportService service, SystemAudit audit, TimeProvider clock)
    {
        var (caller, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        new QueryParameters(context.Request).ThrowIfInvalid();
        var job = await FindAsync(store, ledger, id, context.RequestAborted).ConfigureAwait(false);
        switch (job.State)
        {
            case ExportJob.Queued or ExportJob.Running:
                throw ApiException.Conflict($"The export is {job.State}; {job.RowsDone} rows written so far.", 1);
            case ExportJob.Failed:
                throw ApiException.Conflict($"The export failed: {job.Error}");
        }

        if (job.ExpiresAt is not { } expires || expires <= clock.GetUtcNow() || job.FileName is null)
        {
            throw ApiException.NotFound($"The export's file expired at {(job.ExpiresAt is { } e ? AdminEndpoints.Time(e) : "its end")}; create a new export.");
        }

        if (!File.Exists(service.PathOf(job.FileName)))
        {
            // Written by another node whose export directory this node does not see.
            throw ApiException.Unavailable(
                "The export's file is not in this node's export directory. With several Stele nodes, ExportDirectory must be a directory they all share.", 60);
        }

        var request = ExportRequest.FromJson(job.Request);
        await audit.RecordAsync(caller.Key.Id, "export.downloaded", "export", job.Id, context, Details(ledger, request), context.RequestAborted)
            .ConfigureAwait(false);
        return TypedResults.PhysicalFile(service.PathOf(job.FileName), request.ContentType, $"{ledger.Name}-{job.Id}{request.FileExtension}");
    }

    private static async Task<ExportJob> FindAsync(ISteleStore store, LedgerInfo ledger, string id, CancellationToken cancellationToken)
    {
        var job = id.Length <= 64 ? await store.GetExportAsync(id, cancellationToken).ConfigureAwait(false) : null;

        // Another ledger's export answers as if it did not exist.
        return job is not null && job.LedgerId == ledger.Id ? job : throw ApiException.NotFound("No export with that id in this ledger.");
    }

    private static Dictionary<string, object?> Details(LedgerInfo ledger, ExportRequest request) => new(StringComparer.Ordinal)
    {
        ["ledger"] = ledger.Name,
        ["format"] = request.Format,
        ["gzip"] = request.Gzip,
        ["include_proofs"] = request.IncludeProofs,
        ["filters"] = request.Filters,
    };

    private static void Write(Utf8JsonWriter w, string ledger, ExportJob job, ExportRequest request)
    {
        w.WriteStartObject();
        w.WriteString("id", job.Id);
        w.WriteString("ledger", ledger);
        w.WriteString("state", job.State);
        w.WriteString("format", request.Format);
        w.WriteBoolean("gzip", request.Gzip);
        w.WriteBoolean("include_proofs", request.IncludeProofs);
        w.WriteStartObject("filters");
        foreach (var (name, value) in request.Filters)
        {
            w.WriteString(name, value);
        }

        w.WriteEndObject();
        w.WriteNumber("rows_done", job.RowsDone);
        if (job.RowsTotal is { } total)
        {
            w.WriteNumber("rows_total", total);
        }
        else
        {
            w.WriteNull("rows_total");
        }

        if (job.FileSize is { } size)
        {
            w.WriteNumber("file_size", size);
        }
        else
        {
            w.WriteNull("file_size");
        }

        WriteTime(w, "created_at", job.CreatedAt);
        WriteTime(w, "started_at", job.StartedAt);
        WriteTime(w, "finished_at", job.FinishedAt);
        WriteTime(w, "expires_at", job.ExpiresAt);
        if (job.Error is null)
        {
            w.WriteNull("error");
        }
        else
        {
            w.WriteString("error", job.Error);
        }

        w.WriteEndObject();
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? value)
    {
        if (value is { } time)
        {
            w.WriteString(name, AdminEndpoints.Time(time));
        }
        else
        {
            w.WriteNull(name);
        }
    }
}

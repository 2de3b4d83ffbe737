using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stele.Core.Tiles;
using Stele.Server.Auth;
using Stele.Server.Integrity;
using Stele.Storage;

namespace Stele.Server.Api;

/// <summary>
/// The ledger as a read-only C2SP tlog-tiles log under <c>/tlog/{ledger}/</c>: <c>checkpoint</c>,
/// <c>tile/&lt;L&gt;/&lt;N&gt;[.p/&lt;W&gt;]</c> and <c>tile/entries/&lt;N&gt;[.p/&lt;W&gt;]</c> (entries are the
/// leaf bytes). Stele adds <c>stele/payloads/&lt;N&gt;[.p/&lt;W&gt;]</c>: payload bundles in the entry
/// bundle format, with an empty entry where a payload was erased. Reading needs a read key.
/// </summary>
internal static class TlogEndpoints
{
    private const string PayloadsPrefix = "stele/payloads/";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/tlog/{ledger}/{**path}", ServeAsync).WithName("Tlog");
    }

    private static async Task<IResult> ServeAsync(HttpContext context, string path, LedgerAccess access, ISteleStore store)
    {
        var (_, ledger) = await access.ResolveAsync(context, Permission.Read).ConfigureAwait(false);
        if (path == "checkpoint")
        {
            var checkpoint = await store.GetLatestCheckpointAsync(ledger.Id, context.RequestAborted).ConfigureAwait(false)
                ?? throw ApiException.NotFound("The ledger has no signed checkpoint yet.");
            context.Response.Headers.CacheControl = "no-cache";
            return Results.Bytes(checkpoint.SignedNote, "text/plain; charset=utf-8");
        }

        var isPayloads = path.StartsWith(PayloadsPrefix, StringComparison.Ordinal);
        var tilePath = isPayloads ? "tile/entries/" + path[PayloadsPrefix.Length..] : path;
        if (!TilePath.TryParse(tilePath, out var tile, out var isEntries))
        {
            throw ApiException.NotFound("No such tlog resource; see C2SP tlog-tiles for the layout.");
        }

        var head = await store.GetHeadAsync(ledger.Id, context.RequestAborted).ConfigureAwait(false);
        var available = tile.Level == 0 || isEntries ? head.Size : head.Size >> (8 * tile.Level);
        if ((tile.Index * 256) + tile.Width > available)
        {
            throw ApiException.NotFound("That tile is beyond the end of the log.");
        }

        byte[] body;
        if (isEntries)
        {
            var start = tile.Index * 256;
            body = isPayloads
                ? EntryBundle.Encode(store.ReadPayloads(ledger.Id, start, tile.Width).Select(p => (ReadOnlyMemory<byte>)(p ?? [])).ToList())
                : EntryBundle.Encode(store.ReadLeaves(ledger.Id, start, tile.Width).Select(l => (ReadOnlyMemory<byte>)l).ToList());
        }
        else
        {
            body = StoredTiles.Read(store, ledger.Id, tile);
        }

        context.Response.Headers.CacheControl = tile.Width == 256 && !isPayloads ? "private, max-age=31536000, immutable" : "private, no-cache";
        return Results.Bytes(body, "application/octet-stream");
    }
}

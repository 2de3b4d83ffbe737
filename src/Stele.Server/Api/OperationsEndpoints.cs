using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Stele.Server.Ingestion;
using Stele.Server.Integrity;
using Stele.Storage;

namespace Stele.Server.Api;

/// <summary>Operations routes: <c>/healthz</c>, <c>/readyz</c>, and the public <c>/api/v1/public-key</c>.</summary>
internal static class OperationsEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n")).WithName("Health");
        app.MapGet("/readyz", ReadyAsync).WithName("Ready");
        app.MapGet("/api/v1/public-key", (InstanceKey key) => Results.Text(key.VerifierKeyText + "\n")).WithName("PublicKey");
    }

    private static async Task<IResult> ReadyAsync(HttpContext context, ISteleStore store, SequencerRegistry sequencers)
    {
        try
        {
            var ledgers = await store.ListLedgersAsync(context.RequestAborted).ConfigureAwait(false);
            var open = sequencers.Open.Count();
            return open >= ledgers.Count
                ? Results.Text("ready\n")
                : Results.Text("starting\n", statusCode: 503);
        }
#pragma warning disable CA1031 // Readiness reports any store failure as not ready.
        catch (Exception)
#pragma warning restore CA1031
        {
            return Results.Text("store unavailable\n", statusCode: 503);
        }
    }
}

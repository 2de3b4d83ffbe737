using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Stele.Server.Api;

/// <summary>
/// A JSON response written straight to the body with <see cref="Utf8JsonWriter"/>: event
/// metadata is re-emitted as stored, without a round trip through an object model.
/// </summary>
internal sealed class JsonResponse(int status, Action<Utf8JsonWriter> write, string contentType = "application/json") : IResult
{
    public int Status => status;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = status;
        httpContext.Response.ContentType = contentType;
        // Into the response's pipe: its pooled segments hold the answer (a 1,000-event batch answer is
        // about a megabyte), where a writer over the body stream would grow one large array per answer.
        await using var writer = new Utf8JsonWriter(httpContext.Response.BodyWriter, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        write(writer);
        writer.Flush();
        await httpContext.Response.BodyWriter.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
    }
}

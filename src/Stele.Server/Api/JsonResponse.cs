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
        await using var writer = new Utf8JsonWriter(httpContext.Response.Body, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        write(writer);
        await writer.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
    }
}

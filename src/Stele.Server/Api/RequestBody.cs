using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace Stele.Server.Api;

/// <summary>Reads a JSON request body with a size limit; every failure is a problem with a stable code.</summary>
internal static class RequestBody
{
    public static async Task<JsonDocument> ReadJsonAsync(HttpRequest request, int maxBytes)
    {
        if (request.ContentLength > maxBytes)
        {
            throw ApiException.PayloadTooLarge($"The body is {request.ContentLength} bytes; at most {maxBytes} are accepted here.");
        }

        var mediaType = request.ContentType?.Split(';')[0].Trim();
        if (mediaType is not null && !mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            && !mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiException(415, "validation_failed", "Unsupported media type", $"Send JSON with 'Content-Type: application/json', not '{mediaType}'.");
        }

        var buffer = new ArrayBufferWriter<byte>(Math.Min(maxBytes, 64 * 1024));
        var stream = request.Body;
        while (true)
        {
            var memory = buffer.GetMemory(16 * 1024);
            var read = await stream.ReadAsync(memory, request.HttpContext.RequestAborted).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > maxBytes)
            {
                throw ApiException.PayloadTooLarge($"The body is larger than {maxBytes} bytes, the most accepted here.");
            }
        }

        if (buffer.WrittenCount == 0)
        {
            throw ApiException.Validation("The request body is empty; send a JSON object.");
        }

        // RFC 8259 §8.1: JSON text is UTF-8. The parser does not check the bytes inside strings,
        // and invalid ones would otherwise fail later, far from here, as a 500.
        if (!Utf8.IsValid(buffer.WrittenSpan))
        {
            throw ApiException.Validation("The body is not valid UTF-8.");
        }

        try
        {
            return JsonDocument.Parse(buffer.WrittenMemory, new JsonDocumentOptions { MaxDepth = 40 });
        }
        catch (JsonException ex)
        {
            // JsonException messages name the line and byte position, never the content.
            throw ApiException.Validation($"The body is not valid JSON: {ex.Message}");
        }
    }
}

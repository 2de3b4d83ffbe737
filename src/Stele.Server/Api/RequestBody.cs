using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace Stele.Server.Api;

/// <summary>Reads a JSON request body with a size limit; every failure is a problem with a stable code.</summary>
internal static class RequestBody
{
    /// <summary>
    /// Reads and parses the body. The bytes are held in an array rented from the shared pool (a batch
    /// body is up to 5 MiB, and a fresh array per request would fill the large object heap); disposing
    /// the result returns it, so the document must not be used after that.
    /// </summary>
    public static async Task<RequestJson> ReadJsonAsync(HttpRequest request, int maxBytes)
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

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(request.ContentLength ?? 16 * 1024, 1024, maxBytes + 1L));
        var length = 0;
        try
        {
            var stream = request.Body;
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length), request.HttpContext.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBytes)
                {
                    throw ApiException.PayloadTooLarge($"The body is larger than {maxBytes} bytes, the most accepted here.");
                }
            }

            if (length == 0)
            {
                throw ApiException.Validation("The request body is empty; send a JSON object.");
            }

            // RFC 8259 §8.1: JSON text is UTF-8. The parser does not check the bytes inside strings,
            // and invalid ones would otherwise fail later, far from here, as a 500.
            if (!Utf8.IsValid(buffer.AsSpan(0, length)))
            {
                throw ApiException.Validation("The body is not valid UTF-8.");
            }

            var document = Parse(buffer.AsMemory(0, length));
            var result = new RequestJson(document, buffer);
            buffer = null;
            return result;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static JsonDocument Parse(ReadOnlyMemory<byte> json)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 40 });
        }
        catch (JsonException ex)
        {
            // JsonException messages name the line and byte position, never the content.
            throw ApiException.Validation($"The body is not valid JSON: {ex.Message}");
        }
    }
}

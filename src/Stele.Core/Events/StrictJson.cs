using System.Text.Json;

namespace Stele.Core.Events;

/// <summary>
/// Parses bytes into a <see cref="JsonDocument"/> and runs a reader over the root, so that every
/// failure from System.Text.Json surfaces as one <see cref="EventFormatException"/>.
/// </summary>
internal static class StrictJson
{
    // The payload wraps metadata in at most three levels (payload, targets array, target object).
    private static readonly JsonDocumentOptions Options = new()
    {
        MaxDepth = CanonicalJsonWriter.MaxMetadataDepth + 4,
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
    };

    public static T Decode<T>(byte[] bytes, string what, Func<JsonElement, T> read)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes, Options);
            return read(document.RootElement);
        }
        catch (JsonException ex)
        {
            throw new EventFormatException(EventFormatException.InvalidJson, $"The {what} is not valid JSON: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // GetString() on text that is not valid UTF-8 or unescapes to invalid UTF-16.
            throw new EventFormatException(EventFormatException.InvalidJson, $"The {what} holds an invalid string: {ex.Message}", ex);
        }
        catch (ArgumentException ex)
        {
            // Re-encoding refused a value: an escape that decodes to a lone surrogate, which v1 cannot hold.
            throw new EventFormatException(EventFormatException.InvalidValue, $"The {what} holds a value v1 cannot encode: {ex.Message}", ex);
        }
    }
}

using System.Buffers;
using System.Text.Json;

namespace Stele.Server.Api;

/// <summary>A parsed request body and the pooled array its document reads from; disposing returns the array.</summary>
internal sealed class RequestJson(JsonDocument document, byte[] rented) : IDisposable
{
    private byte[]? _rented = rented;

    public JsonElement RootElement => document.RootElement;

    public void Dispose()
    {
        document.Dispose();
        if (Interlocked.Exchange(ref _rented, null) is { } array)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }
}
